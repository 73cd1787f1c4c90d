/**
 * Topic and channel rules (docs/architecture.md, "Where each rule lives"): a widget listens to a topic; its Pusher channel is
 * `private-<topic>`. Shared by the widget and the server; no DOM, no Node.
 */
import type { TextRule, ValidationError } from "./validation.js";

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
/** Entity names as Mendix writes them: `Module.Entity`. */
export const ENTITY_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
/** The encrypted-topic rule as a pattern (for JSON Schema and the OpenAPI document). */
export const NOT_ENCRYPTED_TOPIC_PATTERN = new RegExp(`^(?!${ENCRYPTED_TOPIC_PREFIX})`);
/** The topic rule as facets: what the OpenAPI document states and `validateTopic` checks. */
export const TOPIC_RULE: TextRule = {
    minLength: 1,
    maxLength: MAX_TOPIC_LENGTH,
    patterns: [CHANNEL_NAME_PATTERN, NOT_ENCRYPTED_TOPIC_PATTERN]
};
/** A private channel of a topic (`private-` + a valid topic), as facets: what the channel authorization accepts. */
export const PRIVATE_CHANNEL_RULE: TextRule = {
    minLength: PRIVATE_PREFIX.length + 1,
    maxLength: MAX_CHANNEL_NAME_LENGTH,
    patterns: [CHANNEL_NAME_PATTERN, new RegExp(`^${PRIVATE_PREFIX}(?!${ENCRYPTED_TOPIC_PREFIX})`)]
};
/** Mendix object GUIDs are decimal numbers (kept as strings: they exceed JavaScript's safe integers). */
export const GUID_PATTERN = /^\d{1,20}$/;
/** A Pusher socket id: digits, a dot, digits (`123.456`); a channel signature covers `<socket id>:<channel>`. */
export const SOCKET_ID_PATTERN = /^\d+\.\d+$/;

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
