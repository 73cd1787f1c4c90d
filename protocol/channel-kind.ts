/**
 * The four kinds of channels Notify & Listen signs (docs/architecture.md, "Where each rule lives"; docs/notify.md,
 * "Channel names"), their topics, and `describeChannel`, which tells them apart:
 *
 * | kind        | channel                            | topic                      | who may subscribe                          |
 * | ----------- | ---------------------------------- | -------------------------- | ------------------------------------------ |
 * | `object`    | `private-<topic>`                  | any other topic            | users the access check allows              |
 * | `presence`  | `presence-<topic>`                 | the object's topic         | the same; members are the answered users   |
 * | `user`      | `private-user-<encoded user name>` | `user-<encoded user name>` | only that user (the answered user)         |
 * | `broadcast` | `private-broadcast-<name>`         | `broadcast-<name>`         | every signed-in user                       |
 *
 * The topic prefixes `user-` and `broadcast-` are reserved: a topic starting with them is the user or broadcast
 * channel. User names are encoded by ./user-name.ts. No DOM, no Node.
 */
import {
    CHANNEL_NAME_PATTERN,
    MAX_CHANNEL_NAME_LENGTH,
    MAX_TOPIC_LENGTH,
    PRIVATE_PREFIX,
    validateChannel,
    validateTopic
} from "./channel.js";
import { decodeUserName, encodeUserName, isEncodableUserName } from "./user-name.js";
import type { TextRule, ValidationError } from "./validation.js";

export type ChannelKind = "object" | "presence" | "user" | "broadcast";

/** Prefix of presence channels (Pusher's). */
export const PRESENCE_PREFIX = "presence-";
/** Topic of a user channel: this + the encoded user name. */
export const USER_TOPIC_PREFIX = "user-";
/** Topic of a broadcast channel: this + the broadcast name. */
export const BROADCAST_TOPIC_PREFIX = "broadcast-";
/** Longest topic that still gives a valid presence channel name. */
export const MAX_PRESENCE_TOPIC_LENGTH = MAX_CHANNEL_NAME_LENGTH - PRESENCE_PREFIX.length;
/** Longest encoded user name that still gives a valid channel name (`private-user-` + 151). */
export const MAX_ENCODED_USER_NAME_LENGTH = MAX_TOPIC_LENGTH - USER_TOPIC_PREFIX.length;
/** Longest broadcast name that still gives a valid channel name (`private-broadcast-` + 146). */
export const MAX_BROADCAST_NAME_LENGTH = MAX_TOPIC_LENGTH - BROADCAST_TOPIC_PREFIX.length;
/**
 * The shape of topics with a reserved prefix, as a pattern for JSON Schema (the OpenAPI document): a `user-` topic
 * holds encoded bytes, a `broadcast-` topic a name. `validateSignableChannel` also checks the encoding is the one
 * of a user name (canonical, UTF-8), which a pattern cannot state.
 */
export const RESERVED_TOPIC_FORM_PATTERN =
    /^(?!user-|broadcast-)|^user-(?:[A-Za-z0-9_\-.@]|=[0-9A-F]{2})+$|^broadcast-./;
/** A broadcast name as facets (what the OpenAPI document states and `validateBroadcastName` checks). */
export const BROADCAST_NAME_RULE: TextRule = {
    minLength: 1,
    maxLength: MAX_BROADCAST_NAME_LENGTH,
    patterns: [CHANNEL_NAME_PATTERN]
};

/** Presence channel of a topic: `presence-<topic>`. */
export function presenceChannelForTopic(topic: string): string {
    return PRESENCE_PREFIX + topic;
}

/** The topic of a Mendix user's notifications: `user-<encoded name>` (validate the name first). */
export function userTopic(name: string): string {
    return USER_TOPIC_PREFIX + encodeUserName(name);
}

/** The topic of a broadcast: `broadcast-<name>` (validate the name first). */
export function broadcastTopic(name: string): string {
    return BROADCAST_TOPIC_PREFIX + name;
}

/** A Mendix user name that has a user channel: any characters, as long as its channel fits 164 characters. */
export function validateUserName(name: string): ValidationError {
    if (name.length === 0) {
        return "The user name is empty.";
    }
    if (!isEncodableUserName(name)) {
        return "The user name contains an unpaired surrogate (a broken character), which has no UTF-8 form.";
    }
    const channel = PRIVATE_PREFIX + userTopic(name);
    return channel.length > MAX_CHANNEL_NAME_LENGTH
        ? `The user name gives the channel "${channel.slice(0, 40)}…" of ${channel.length} characters; Pusher allows at most ${MAX_CHANNEL_NAME_LENGTH}. Letters, digits and _ - . @ take one character each in the channel name, every other character 3 to 12; at most ${MAX_ENCODED_USER_NAME_LENGTH} fit.`
        : null;
}

export function validateBroadcastName(name: string): ValidationError {
    if (name.length === 0) {
        return "The broadcast name is empty.";
    }
    if (name.length > MAX_BROADCAST_NAME_LENGTH) {
        return `The broadcast name is ${name.length} characters long; at most ${MAX_BROADCAST_NAME_LENGTH} are allowed (its channel "${PRIVATE_PREFIX}${BROADCAST_TOPIC_PREFIX}<name>" has at most ${MAX_CHANNEL_NAME_LENGTH}).`;
    }
    if (!CHANNEL_NAME_PATTERN.test(name)) {
        return `The broadcast name "${name}" contains characters that are not allowed; use only letters, digits and _ - = @ , . ;`;
    }
    return null;
}

/** What a channel this server signs is: `channel` is always `private-` or `presence-` + `topic`. */
export interface ChannelDescription {
    kind: ChannelKind;
    topic: string;
    /** `user` channels: the decoded Mendix user name. */
    user?: string;
    /** `broadcast` channels: the broadcast name. */
    broadcast?: string;
}

type Described = { description: ChannelDescription; problem: null } | { description: null; problem: string };

function describe(channel: string): Described {
    const valid = (description: ChannelDescription): Described => ({ description, problem: null });
    const invalid = (problem: string): Described => ({ description: null, problem });
    const channelProblem = validateChannel(channel);
    if (channelProblem !== null) {
        return invalid(channelProblem);
    }
    if (channel.startsWith(PRESENCE_PREFIX)) {
        const topic = channel.slice(PRESENCE_PREFIX.length);
        const problem = validateTopic(topic) ?? presenceTopicProblem(topic);
        return problem === null ? valid({ kind: "presence", topic }) : invalid(problem);
    }
    if (!channel.startsWith(PRIVATE_PREFIX)) {
        return invalid(
            `The channel "${channel}" is neither a private channel ("${PRIVATE_PREFIX}<topic>") nor a presence channel ("${PRESENCE_PREFIX}<topic>").`
        );
    }
    const topic = channel.slice(PRIVATE_PREFIX.length);
    const problem = validateTopic(topic) ?? topicKindProblem(topic);
    if (problem !== null) {
        return invalid(problem);
    }
    if (topic.startsWith(USER_TOPIC_PREFIX)) {
        return valid({ kind: "user", topic, user: decodeUserName(topic.slice(USER_TOPIC_PREFIX.length))! });
    }
    if (topic.startsWith(BROADCAST_TOPIC_PREFIX)) {
        return valid({ kind: "broadcast", topic, broadcast: topic.slice(BROADCAST_TOPIC_PREFIX.length) });
    }
    return valid({ kind: "object", topic });
}

/** Only objects have viewers: a presence channel of a user or broadcast topic is refused. */
function presenceTopicProblem(topic: string): ValidationError {
    return topic.startsWith(USER_TOPIC_PREFIX) || topic.startsWith(BROADCAST_TOPIC_PREFIX)
        ? `The presence channel "${PRESENCE_PREFIX}${topic}" is for a user or broadcast topic; presence channels exist only for object topics (topics that start with neither "${USER_TOPIC_PREFIX}" nor "${BROADCAST_TOPIC_PREFIX}").`
        : null;
}

/** The problem of a valid topic that starts with a reserved prefix but names no user or broadcast. */
function topicKindProblem(topic: string): ValidationError {
    if (topic.startsWith(USER_TOPIC_PREFIX)) {
        return decodeUserName(topic.slice(USER_TOPIC_PREFIX.length)) === null
            ? `The topic "${topic}" starts with "${USER_TOPIC_PREFIX}" but does not hold an encoded user name: the bytes of letters, digits and _ - . @ as they are, every other byte as =XX with upper-case hex digits, each byte in exactly that one form (docs/notify.md, "Channel names").`
            : null;
    }
    if (topic.startsWith(BROADCAST_TOPIC_PREFIX)) {
        return topic.length === BROADCAST_TOPIC_PREFIX.length
            ? `The topic "${topic}" starts with "${BROADCAST_TOPIC_PREFIX}" but names no broadcast.`
            : null;
    }
    return null;
}

/**
 * The problem of a channel this server does not sign, or null: a message a Mendix modeller understands. Also the
 * problem of a topic that starts with `user-` or `broadcast-` without naming a user or broadcast.
 */
export function validateSignableChannel(channel: string): ValidationError {
    return describe(channel).problem;
}

/** The kind of a channel and what it names, or null when this server does not sign it (`validateSignableChannel` says why). */
export function describeChannel(channel: string): ChannelDescription | null {
    return describe(channel).description;
}
