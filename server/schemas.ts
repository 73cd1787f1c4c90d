/**
 * The zod schemas of the HTTP API, built on the wire rules of ../protocol: the notify routes validate with the
 * request parts, the routes type their answers with the response parts, and ./openapi.ts turns all of them into
 * the OpenAPI 3.0 document (`z.toJSONSchema`, target `openapi-3.0`). So every rule is written once: in the
 * protocol module (constants, facets, messages), used here, stated in the document.
 */
import { z } from "zod";
import {
    ACTION_RULE,
    BROADCAST_NAME_RULE,
    ENTITY_NAME_PATTERN,
    EPOCH_MS_PATTERN,
    EPOCH_PATTERN,
    GUID_PATTERN,
    MAX_DATA_LENGTH,
    MAX_EPOCH_MS,
    RESERVED_TOPIC_FORM_PATTERN,
    SOCKET_ID_PATTERN,
    TOPIC_RULE,
    channelForTopic,
    parseChangedDate,
    validateAction,
    validateBroadcastName,
    validateSignableChannel,
    validateTopic,
    validateUserName,
    type TextRule,
    type ValidationError
} from "../protocol/index.js";
import { ERROR_CODES, type ErrorCode } from "./errors.js";

/** Longest `sender` of a notification. */
export const MAX_SENDER_LENGTH = 200;
/** Most notifications in one `notify/batch` request. */
export const MAX_BATCH_SIZE = 100;

/**
 * Optional field that may also be `null` (what Mendix export mappings send for empty values). The object that
 * holds it maps `null` to absent in its own final transform: one transform per object instead of one per field,
 * which zod runs several times faster.
 */
export const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

const text = (what: string) => z.string({ error: `${what} must be a string` });

/**
 * A string that follows a protocol rule, checked once: by the protocol's own `validate`, which answers with the
 * protocol's message for the value. The rule's facets (`ruleFacets`) are stated for the OpenAPI document only, not
 * checked a second time by zod. (zod, like JSON Schema, would count characters by code point; Pusher and the
 * protocol count UTF-16 units, so an emoji counts twice there: the protocol decides.)
 */
export function ruledString(what: string, rule: TextRule, validate: (value: string) => ValidationError) {
    return text(what)
        .superRefine((value, issues) => {
            const problem = validate(value);
            if (problem !== null) {
                issues.addIssue({ code: "custom", message: problem });
            }
        })
        .meta(ruleFacets(rule));
}

// ---------------------------------------------------------------------------------------------------
// Request fields

/** A topic, and (for the reserved prefixes `user-` and `broadcast-`) one that names a user or broadcast. */
const validateNotifyTopic = (topic: string): ValidationError =>
    validateTopic(topic) ?? validateSignableChannel(channelForTopic(topic));

/** The topic rule and the shape of reserved topics, as facets (the OpenAPI document states both). */
const NOTIFY_TOPIC_RULE: TextRule = { ...TOPIC_RULE, patterns: [...TOPIC_RULE.patterns, RESERVED_TOPIC_FORM_PATTERN] };

export const topicSchema = ruledString("topic", NOTIFY_TOPIC_RULE, validateNotifyTopic).meta({
    description:
        "What listeners listen to; the channel is `private-<topic>`. Letters, digits and `_ - = @ , . ;`, at most 156 characters. Default per-object topic: `<Module.Entity>.<guid>`. Topics starting with `user-` or `broadcast-` are the user and broadcast channels (send `user` or `broadcast` instead). Send exactly one target: `topic`, `entity` and `guid`, `user` or `broadcast`.",
    example: "Sales.Order.number.42"
});

export const userSchema = text("user")
    .min(1, { error: "The user name is empty." })
    .superRefine((value, issues) => {
        const problem = validateUserName(value);
        if (problem !== null) {
            issues.addIssue({ code: "custom", message: problem });
        }
    })
    .meta({
        description:
            'A Mendix user name (`System.User/Name`, any characters): the notification goes to that user\'s Listen widgets only, on the channel `private-user-<encoded user name>` (docs/notify.md, "Channel names"). The channel must fit 164 characters: up to 151 letters, digits and `_ - . @`, fewer with other characters.',
        example: "john"
    });

export const broadcastSchema = ruledString("broadcast", BROADCAST_NAME_RULE, validateBroadcastName).meta({
    description:
        "A broadcast name: the notification goes to every signed-in user's Listen widget listening to this broadcast, on the channel `private-broadcast-<name>`. Letters, digits and `_ - = @ , . ;`, at most 146 characters.",
    example: "maintenance"
});

export const actionSchema = ruledString("action", ACTION_RULE, validateAction).meta({
    description:
        "The event name: every listening widget runs the action with this Action name. Pusher's event-name rules: 1 to 200 characters of any text (spaces included), not starting with `pusher:`, `pusher_internal:` or `client-`.",
    example: "Refresh order"
});

export const entitySchema = text("entity")
    .regex(ENTITY_NAME_PATTERN, { error: "must be an entity name like Sales.Order" })
    .meta({
        description:
            "Entity of the changed object (payload `entity`); with `guid` and no `topic` it gives the topic `<entity>.<guid>`.",
        example: "Sales.Order"
    });

const GUID_NUMBER_MESSAGE =
    "is a JSON number that is not an exact whole number from 0 to 9007199254740991 (JavaScript's largest exact integer). Mendix object ids are often larger, and a larger JSON number has already lost digits: send the guid as a string of digits";

export const guidSchema = z
    .union(
        [
            z.string().regex(GUID_PATTERN, { error: "must be a Mendix object id (digits only)" }),
            // z.int() is a safe integer: at most 9007199254740991.
            z.int({ error: GUID_NUMBER_MESSAGE, abort: true }).min(0, { error: GUID_NUMBER_MESSAGE })
        ],
        {
            error: issue =>
                typeof issue.input === "number" ? GUID_NUMBER_MESSAGE : "must be a Mendix object id: a string of digits"
        }
    )
    .transform(String)
    .meta({
        description:
            "Mendix object id (payload `guid`), as a string of digits. A JSON number is accepted only while it is exact (at most 9007199254740991); larger ids must be strings, or they would be rounded.",
        example: "281474976710657"
    });

const CHANGED_DATE_MESSAGE =
    "must be an ISO 8601 date-time like 2026-11-24T10:00:00.000Z, or epoch milliseconds (a number or a string of digits, like the Mendix 7 Java Notify action sends)";

export const changedDateSchema = z
    .union(
        [
            z.iso.datetime({ offset: true, error: CHANGED_DATE_MESSAGE }),
            z.string().regex(EPOCH_MS_PATTERN, { error: CHANGED_DATE_MESSAGE }),
            z
                .int({ error: CHANGED_DATE_MESSAGE, abort: true })
                .min(0, { error: CHANGED_DATE_MESSAGE, abort: true })
                .max(MAX_EPOCH_MS, { error: CHANGED_DATE_MESSAGE })
        ],
        { error: CHANGED_DATE_MESSAGE }
    )
    .transform(value => (parseChangedDate(value) as Date).toISOString())
    .meta({
        description:
            'When the object changed (payload `changedDate`, sent as ISO 8601 in UTC). Either an ISO 8601 date-time, or epoch milliseconds as a number or a string of digits (the Mendix 7 Java Notify action sends `"1764583200000"`). Default: now.',
        example: "2026-11-24T10:00:00.000Z"
    });

export const senderSchema = text("sender")
    .max(MAX_SENDER_LENGTH, { error: `must be at most ${MAX_SENDER_LENGTH} characters` })
    .meta({
        description:
            "Who caused the change (payload `sender`, default empty); widgets may ignore their own user's notifications.",
        example: "john"
    });

export const dataSchema = text("data")
    .max(MAX_DATA_LENGTH, { error: `must be at most ${MAX_DATA_LENGTH} characters` })
    .meta({ description: "Optional short text passed to the action (payload `data`).", example: "status=Shipped" });

/** A pusher-js socket id, under the name its request gives it (`socketId` in notify, `socket_id` in auth). */
export const socketIdOf = (name: string) =>
    text(name).regex(SOCKET_ID_PATTERN, { error: 'must look like "1234.5678" (digits, a dot, digits)' });

export const socketIdSchema = socketIdOf("socketId").meta({
    description: "pusher-js socket id that must not receive this notification (the sender's own page).",
    example: "123.456"
});

/**
 * A protocol rule's facets in JSON Schema words, for a schema whose checks zod cannot state (a `superRefine`
 * that calls the protocol's `validate*` function, as the channel authorization's does).
 */
export function ruleFacets(rule: TextRule): Record<string, unknown> {
    const [first, ...more] = rule.patterns;
    return {
        minLength: rule.minLength,
        maxLength: rule.maxLength,
        ...(first === undefined ? {} : { pattern: first.source }),
        ...(more.length === 0 ? {} : { allOf: more.map(pattern => ({ pattern: pattern.source })) })
    };
}

// ---------------------------------------------------------------------------------------------------
// Answers

export const keyResponseSchema = z.strictObject({
    key: z.string().min(1).meta({ description: "The broker's public app key." }),
    cluster: z.string().min(1).meta({
        description: "The Pusher Channels cluster; `local` when the broker is not Pusher Channels."
    }),
    wsHost: z.string().min(1).optional().meta({ description: "Where browsers connect (not Pusher Channels)." }),
    wsPort: z.int().min(1).max(65535).optional(),
    forceTLS: z.boolean().optional()
});
export type KeyResponse = z.output<typeof keyResponseSchema>;

/** The catch-up fields of every payload (protocol/catchup.ts). */
const seqSchema = z.int().min(0).meta({
    description:
        "The notification's position on its channel: strictly increasing within an epoch (a server clock in microseconds, not a count).",
    example: 1764583200000123
});
const epochSchema = z.string().regex(EPOCH_PATTERN).meta({
    description:
        "Identity of the server's catch-up state; a new one after a restart: positions of another epoch cannot be compared.",
    example: "q3VbXw2mT0aK"
});

export const authResponseSchema = z.strictObject({
    auth: z
        .string()
        .regex(/^[^:]+:[0-9a-f]{64}$/)
        .meta({ description: "`<key>:<hex HMAC-SHA256>`, handed to pusher-js." }),
    channel_data: z.string().optional().meta({
        description:
            'Presence channels only: the signed member as JSON text, `{ "user_id": "<Mendix user name>", "user_info": { "name": "<displayName, else the user name>" } }`, built from the access check\'s answer (never from the request).',
        example: '{"user_id":"john","user_info":{"name":"John Smith"}}'
    }),
    catchup: z
        .strictObject({
            epoch: epochSchema,
            seq: seqSchema.meta({
                description: "The widget's new cursor on the channel: every later notification has a larger `seq`."
            }),
            missed: z
                .array(z.lazy(() => notificationPayloadSchema))
                .optional()
                .meta({
                    description:
                        "Only when the request carried `catchup`: the latest payload of each action the widget may have missed, oldest first (the widget runs those whose `seq` it has not seen)."
                }),
            lost: z.enum(["restart", "expired"]).optional().meta({
                description:
                    "The widget may have missed more than `missed` holds: `restart` (another epoch: the server lost its catch-up state), `expired` (a missed notification is no longer kept)."
            })
        })
        .meta({
            description:
                "Catch-up (docs/architecture-catchup.md). Clients that do not know it ignore it, as pusher-js does."
        })
});

export const notifyResponseSchema = z.strictObject({
    triggered: z.int().min(0).meta({ description: "How many notifications were triggered." }),
    channels: z
        .array(z.string().regex(/^private-/))
        .meta({ description: "Each channel notified, once.", uniqueItems: true })
});
export type NotifyResponse = z.output<typeof notifyResponseSchema>;

export const batchFailureSchema = z.looseObject({
    triggered: z.int().min(0).meta({ description: "Notifications sent before the failure." }),
    failed: z.array(z.int().min(0)).meta({ description: "Indexes (0-based) of the notifications not sent." }),
    reason: z.string().optional(),
    attempts: z
        .int()
        .min(1)
        .optional()
        .meta({ description: "Attempts made for the failed broker call (bounded retries with backoff)." })
});

/** What listeners receive as the event data (a JSON string on the wire). */
export const notificationPayloadSchema = z
    .strictObject({
        entity: z.string().meta({ description: "Entity of the object; empty when the topic does not name one." }),
        guid: z.string().meta({ description: "Mendix object id as digits; empty when the topic does not name one." }),
        changedDate: z.iso.datetime().meta({ description: "ISO 8601 in UTC." }),
        sender: z.string(),
        actionName: z.string().meta({
            description: "The event name again, as the Mendix 7 Java Notify action sends it, for old listeners."
        }),
        data: z.string().max(MAX_DATA_LENGTH).optional(),
        seq: seqSchema,
        epoch: epochSchema
    })
    .meta({
        description:
            "What listeners receive as the event data (JSON). `seq` and `epoch` serve the catch-up of the Listen widget; old listeners ignore them."
    });

export const healthzSchema = z.strictObject({ status: z.literal("ok") });
export const readyzSchema = z.strictObject({ status: z.literal("ready"), broker: z.enum(["embedded", "pusher"]) });

/** The error answer with the codes a response can carry (and `details` typed where it is known). */
export function errorBodySchema(codes: readonly ErrorCode[], details?: z.ZodType) {
    return z.strictObject({
        error: z.strictObject({
            code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
            message: z.string().min(1),
            details:
                details ??
                z.unknown().optional().meta({
                    description:
                        "For `invalid_request`: an array of `{ path, message }`, one per problem; otherwise an object."
                })
        })
    });
}

/** The error answer of the whole API. */
export const errorSchema = errorBodySchema(ERROR_CODES);
