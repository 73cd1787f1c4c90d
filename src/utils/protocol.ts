/**
 * The Notify & Listen wire protocol, shared by the widget (src/) and the companion server (server/).
 * Pure functions only: no DOM, no Node, no dependencies. Names follow DESIGN.md:
 * topic -> channel `private-<topic>`; action = event name; payload = NotificationPayload.
 */

/** Prefix of the Pusher private channels used for topics. */
export const PRIVATE_PREFIX = "private-";
/** Topics starting with this give `private-encrypted-` channels (Pusher end-to-end encryption): refused. */
export const ENCRYPTED_TOPIC_PREFIX = "encrypted-";
/** Pusher's channel name rule. */
export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;]+$/;
/** Pusher's limit on channel names. */
export const MAX_CHANNEL_NAME_LENGTH = 164;
/** Longest topic that still gives a valid channel name. */
export const MAX_TOPIC_LENGTH = MAX_CHANNEL_NAME_LENGTH - PRIVATE_PREFIX.length;
/** Pusher's limit on event names. */
export const MAX_ACTION_LENGTH = 200;
/** Pusher's limit on one event's data (payload), in bytes. */
export const MAX_PAYLOAD_BYTES = 10_240;
/** Longest optional `data` string carried in a payload. */
export const MAX_DATA_LENGTH = 8_000;
/** Entity names as Mendix writes them: `Module.Entity`. */
export const ENTITY_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
/** Mendix object GUIDs are decimal numbers. */
export const GUID_PATTERN = /^\d{1,20}$/;
/** Action names: same characters as channels; no `pusher:` / `client-` prefixes (reserved by Pusher). */
export const ACTION_NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;]+$/;

/** The payload of every notification, as historic Mendix Pusher modules sent it, plus `data`. */
export interface NotificationPayload {
    entity: string;
    guid: string;
    changedDate: string;
    sender: string;
    data?: string;
}

/** Result of a validation: `null` when valid, otherwise a message a Mendix modeller understands. */
export type ValidationError = string | null;

/** Default per-object topic: `<Module.Entity>.<guid>`. */
export function defaultTopic(entity: string, guid: string): string {
    return `${entity}.${guid}`;
}

/** Channel of a topic: `private-<topic>`. */
export function channelForTopic(topic: string): string {
    return PRIVATE_PREFIX + topic;
}

/** Topic of a channel, or `null` when it is not a private channel. */
export function topicOfChannel(channel: string): string | null {
    return channel.startsWith(PRIVATE_PREFIX) ? channel.slice(PRIVATE_PREFIX.length) : null;
}

export function validateTopic(topic: string): ValidationError {
    if (topic.length === 0) {
        return "The topic is empty.";
    }
    if (topic.length > MAX_TOPIC_LENGTH) {
        return `The topic is ${topic.length} characters long; at most ${MAX_TOPIC_LENGTH} are allowed.`;
    }
    if (!CHANNEL_NAME_PATTERN.test(topic)) {
        return `The topic "${topic}" contains characters that are not allowed; use only letters, digits and _ - = @ , . ;`;
    }
    if (topic.startsWith(ENCRYPTED_TOPIC_PREFIX)) {
        // private-encrypted-* channels are Pusher's end-to-end encrypted channels: the pusher SDK cannot sign or
        // trigger them without an encryption master key (it throws), and Notify & Listen does not use them.
        return `The topic "${topic}" starts with "${ENCRYPTED_TOPIC_PREFIX}", which Pusher reserves for end-to-end encrypted channels; choose another topic.`;
    }
    return null;
}

export function validateChannel(channel: string): ValidationError {
    if (channel.length === 0) {
        return "The channel name is empty.";
    }
    if (channel.length > MAX_CHANNEL_NAME_LENGTH) {
        return `The channel name is ${channel.length} characters long; at most ${MAX_CHANNEL_NAME_LENGTH} are allowed.`;
    }
    if (!CHANNEL_NAME_PATTERN.test(channel)) {
        return `The channel name "${channel}" contains characters that are not allowed; use only letters, digits and _ - = @ , . ;`;
    }
    return null;
}

export function validateAction(action: string): ValidationError {
    if (action.trim().length === 0) {
        return "The action name is empty.";
    }
    if (action.length > MAX_ACTION_LENGTH) {
        return `The action name is ${action.length} characters long; at most ${MAX_ACTION_LENGTH} are allowed.`;
    }
    if (!ACTION_NAME_PATTERN.test(action)) {
        return `The action name "${action}" contains characters that are not allowed; use only letters, digits and _ - = @ , . ;`;
    }
    if (action.startsWith("pusher") || action.startsWith("client-")) {
        return `The action name "${action}" starts with a reserved prefix ("pusher" or "client-").`;
    }
    return null;
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
