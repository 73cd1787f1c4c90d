/**
 * The payload of a notification and its size rules. Shared by the widget and the server; no DOM, no Node.
 */

/** Pusher's limit on one event's data (payload), in bytes. */
export const MAX_PAYLOAD_BYTES = 10_240;
/** Longest optional `data` string carried in a payload. */
export const MAX_DATA_LENGTH = 8_000;

/** The payload of every notification, as historic Mendix Pusher modules sent it, plus `data`. */
export interface NotificationPayload {
    entity: string;
    guid: string;
    changedDate: string;
    sender: string;
    data?: string;
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
 * Reads a payload as it arrives in a pusher-js event handler (already JSON-parsed by pusher-js, or a
 * string when the sender did not send JSON). Unknown fields are ignored; missing ones become undefined.
 */
export function parsePayload(raw: unknown): Partial<NotificationPayload> {
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
        guid: text("guid") ?? (typeof record.guid === "number" ? String(record.guid) : undefined),
        changedDate: text("changedDate"),
        sender: text("sender"),
        data: text("data")
    };
}
