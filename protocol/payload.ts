/**
 * The payload of a notification, its date and id forms, and its size rules. Shared by the widget and the
 * server; no DOM, no Node.
 */

/** Pusher's limit on one event's data (payload), in bytes. */
export const MAX_PAYLOAD_BYTES = 10_240;
/** Longest optional `data` string carried in a payload. */
export const MAX_DATA_LENGTH = 8_000;

/**
 * The payload of every notification: the historic fields of the Mendix Pusher modules (`entity`, `guid`,
 * `changedDate`, `sender`, `actionName`), plus the optional `data`. `actionName` repeats the event name, as the
 * Mendix 7 Java Notify action sends it, so listeners written for that payload keep working.
 */
export interface NotificationPayload {
    entity: string;
    guid: string;
    /** ISO 8601 in UTC as this server sends it; the Mendix 7 Java action sends epoch milliseconds as digits. */
    changedDate: string;
    sender: string;
    actionName: string;
    data?: string;
}

/** What a listener can read from a payload it receives: every field optional, `changedDate` as a Date. */
export interface ReceivedPayload {
    entity?: string;
    guid?: string;
    changedDate?: Date;
    sender?: string;
    actionName?: string;
    data?: string;
}

/** `changedDate` as epoch milliseconds written out in digits (the Mendix 7 Java Notify action's form). */
export const EPOCH_MS_PATTERN = /^\d{1,15}$/;
/** How an ISO 8601 date-time starts: `YYYY-MM-DD`. */
const ISO_DATE_START = /^\d{4}-\d{2}-\d{2}(?:$|T)/;
/** The last moment a JavaScript Date can hold, in epoch milliseconds. */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;

/** The Date of epoch milliseconds, or undefined when it is not a whole number from 0 to `MAX_EPOCH_MS`. */
export function dateOfEpochMs(ms: number): Date | undefined {
    return Number.isInteger(ms) && ms >= 0 && ms <= MAX_EPOCH_MS ? new Date(ms) : undefined;
}

/**
 * The Date of a payload's `changedDate` in either historic form: epoch milliseconds (a JSON number, or a string
 * of digits like the Mendix 7 Java action's `"1764583200000"`), or an ISO 8601 date-time
 * (`"2026-11-24T10:00:00.000Z"`). Undefined when it is neither. A string of digits is always epoch
 * milliseconds, never a year.
 */
export function parseChangedDate(value: unknown): Date | undefined {
    if (typeof value === "number") {
        return dateOfEpochMs(value);
    }
    if (typeof value !== "string" || value.length === 0) {
        return undefined;
    }
    if (EPOCH_MS_PATTERN.test(value)) {
        return dateOfEpochMs(Number(value));
    }
    if (!ISO_DATE_START.test(value)) {
        // Date() also reads loose texts such as "1.5" (a day in 2001): only ISO 8601 is a date here.
        return undefined;
    }
    const date = new Date(value);
    return isNaN(date.getTime()) ? undefined : date;
}

/**
 * A Mendix object id given as a JSON number, as a string of digits, when that number is exact. Mendix ids are
 * 64-bit numbers that often exceed JavaScript's safe integers (2^53 - 1): a larger JSON number has already
 * lost digits when it was parsed, so it gives undefined instead of a wrong id.
 */
export function guidOfNumber(value: number): string | undefined {
    return Number.isSafeInteger(value) && value >= 0 ? String(value) : undefined;
}

/** Size in bytes of a string once UTF-8 encoded. */
export function utf8Length(text: string): number {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code < 0x80) {
            bytes += 1;
        } else if (code < 0x800) {
            bytes += 2;
        } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
            const next = text.charCodeAt(i + 1);
            if (next >= 0xdc00 && next <= 0xdfff) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        } else {
            bytes += 3;
        }
    }
    return bytes;
}

/**
 * Reads a payload as it arrives in a pusher-js event handler (already JSON-parsed by pusher-js, or a string
 * when the sender did not send JSON). Both historic shapes work: `changedDate` as ISO 8601 or as epoch
 * milliseconds, `guid` as a string or as an exact JSON number. Unknown fields are ignored; missing or unusable
 * ones become undefined.
 */
export function parsePayload(raw: unknown): ReceivedPayload {
    let value: unknown = raw;
    if (typeof raw === "string") {
        try {
            value = JSON.parse(raw);
        } catch {
            return { data: raw };
        }
    }
    if (value === null || typeof value !== "object") {
        return {};
    }
    const record = value as Record<string, unknown>;
    const text = (key: string): string | undefined =>
        typeof record[key] === "string" ? (record[key] as string) : undefined;
    return {
        entity: text("entity"),
        guid: text("guid") ?? (typeof record.guid === "number" ? guidOfNumber(record.guid) : undefined),
        changedDate: parseChangedDate(record.changedDate),
        sender: text("sender"),
        actionName: text("actionName"),
        data: text("data")
    };
}
