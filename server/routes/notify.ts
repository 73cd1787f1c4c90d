/**
 * `POST /rest/pusher/notify` and `POST /rest/pusher/notify/batch` (Bearer NOTIFY_API_KEY): one notification,
 * or up to 100, handed to the broker through `ctx.trigger` (see ../trigger.ts: the pusher SDK's `trigger` /
 * `triggerBatch` in chunks of 10 for Pusher Channels and Pusher-compatible hosts, in-process for the embedded
 * broker).
 */
import { Router } from "express";
import { z } from "zod";
import {
    CATCHUP_FIELDS_MAX_BYTES,
    MAX_PAYLOAD_BYTES,
    broadcastTopic,
    channelForTopic,
    defaultTopic,
    userTopic,
    validateTopic,
    type NotificationPayload
} from "../../protocol/index.js";
import type { ServerContext } from "../context.js";
import { HttpError, invalidRequest } from "../errors.js";
import { sendJson } from "../answer.js";
import { readBody } from "../body.js";
import { limiter } from "../middleware.js";
import { logDebug } from "../request.js";
import {
    MAX_BATCH_SIZE,
    actionSchema,
    broadcastSchema,
    changedDateSchema,
    dataSchema,
    entitySchema,
    guidSchema,
    optional,
    senderSchema,
    socketIdSchema,
    topicSchema,
    userSchema,
    type NotifyResponse
} from "../schemas.js";
import type { TriggerItem } from "../trigger.js";

export { BATCH_CHUNK_SIZE } from "../trigger.js";
export { MAX_BATCH_SIZE, MAX_SENDER_LENGTH } from "../schemas.js";

/** A single notification request is small: 16 KB at most. */
export const NOTIFY_BODY_LIMIT = 16 * 1024;
/** `Module.Entity.guid` topics give entity and guid for the payload. */
const OBJECT_TOPIC = /^([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\.(\d{1,20})$/;

/** The targets of a notification, as named in messages: exactly one per notification. */
function targetsOf(value: {
    topic?: unknown;
    entity?: unknown;
    guid?: unknown;
    user?: unknown;
    broadcast?: unknown;
}): string[] {
    const targets: string[] = [];
    if (value.topic != null) targets.push("topic");
    // With a topic, entity and guid are only the payload's fields (as before users and broadcasts existed).
    if (value.topic == null && (value.entity != null || value.guid != null)) targets.push("entity and guid");
    if (value.user != null) targets.push("user");
    if (value.broadcast != null) targets.push("broadcast");
    return targets;
}

/** "The field is sent and not null", in JSON Schema words (null counts as absent, see `optional`). */
const present = Object.fromEntries(
    (["topic", "entity", "user", "broadcast", "guid"] as const).map(name => [
        name,
        {
            required: [name],
            properties: {
                [name]: name === "guid" ? { anyOf: [{ type: "string" }, { type: "integer" }] } : { type: "string" }
            }
        }
    ])
) as Record<"topic" | "entity" | "guid" | "user" | "broadcast", object>;

/**
 * One notification with exactly one target: `topic`, `entity` and `guid`, `user` (a Mendix user name) or `broadcast`
 * (a broadcast name); `action` (or `actionName`, its name in the Mendix 7
 * payload, so that payload is accepted verbatim); optional `sender`, `changedDate` (ISO 8601 or epoch
 * milliseconds), `data`, `socketId`. The only validation of a notification; ../openapi.ts documents it.
 */
export const notificationSchema = z
    .strictObject({
        topic: optional(topicSchema),
        entity: optional(entitySchema),
        guid: optional(guidSchema),
        user: optional(userSchema),
        broadcast: optional(broadcastSchema),
        action: optional(actionSchema),
        actionName: optional(
            actionSchema.meta({
                description:
                    "The name of `action` in the Mendix 7 Java Notify payload: send `action` or `actionName` (both: the same value).",
                example: "refresh"
            })
        ),
        sender: optional(senderSchema),
        changedDate: optional(changedDateSchema),
        data: optional(dataSchema),
        socketId: optional(socketIdSchema)
    })
    .superRefine((value, issues) => {
        // `== null`: absent, or null, which counts as absent (see `optional`).
        if (value.action == null && value.actionName == null) {
            issues.addIssue({
                code: "custom",
                path: ["action"],
                message:
                    "is required: the action name the widgets listen for (the Mendix 7 payload calls it actionName)"
            });
        } else if (value.action != null && value.actionName != null && value.action !== value.actionName) {
            issues.addIssue({
                code: "custom",
                path: ["actionName"],
                message: `differs from action ("${value.actionName}" and "${value.action}"): send one of the two`
            });
        }
        const targets = targetsOf(value);
        if (targets.length > 1) {
            issues.addIssue({
                code: "custom",
                path: [],
                message: `has ${targets.join(" and ")}: send exactly one target (topic, entity and guid, user, or broadcast)`
            });
            return;
        }
        if (value.topic != null || value.user != null || value.broadcast != null) {
            return;
        }
        if (value.entity == null && value.guid == null) {
            issues.addIssue({
                code: "custom",
                path: ["topic"],
                message: "send one target: a topic, entity and guid, a user, or a broadcast"
            });
        } else if (value.entity == null) {
            issues.addIssue({ code: "custom", path: ["entity"], message: "is required with guid (or send a topic)" });
        } else if (value.guid == null) {
            issues.addIssue({ code: "custom", path: ["guid"], message: "is required with entity (or send a topic)" });
        } else {
            // entity + guid make the topic: it must still give a valid channel name (at most 164 characters).
            const problem = validateTopic(defaultTopic(value.entity, value.guid));
            if (problem !== null) {
                issues.addIssue({ code: "custom", path: ["entity"], message: `entity and guid: ${problem}` });
            }
        }
    })
    // The two rules above in JSON Schema words (zod cannot state a refinement), for the OpenAPI document.
    .meta({
        allOf: [
            {
                oneOf: [
                    { allOf: [present.topic], not: { anyOf: [present.user, present.broadcast] } },
                    {
                        allOf: [present.entity, present.guid],
                        not: { anyOf: [present.topic, present.user, present.broadcast] }
                    },
                    {
                        allOf: [present.user],
                        not: { anyOf: [present.topic, present.entity, present.guid, present.broadcast] }
                    },
                    {
                        allOf: [present.broadcast],
                        not: { anyOf: [present.topic, present.entity, present.guid, present.user] }
                    }
                ]
            },
            {
                anyOf: [
                    { required: ["action"], properties: { action: { type: "string" } } },
                    { required: ["actionName"], properties: { actionName: { type: "string" } } }
                ]
            }
        ]
    })
    // null -> absent, and `actionName` -> `action`: the notification as the route uses it.
    .transform(value => ({
        topic: value.topic ?? undefined,
        entity: value.entity ?? undefined,
        guid: value.guid ?? undefined,
        user: value.user ?? undefined,
        broadcast: value.broadcast ?? undefined,
        action: (value.action ?? value.actionName) as string,
        sender: value.sender ?? undefined,
        changedDate: value.changedDate ?? undefined,
        data: value.data ?? undefined,
        socketId: value.socketId ?? undefined
    }));

export type NotificationInput = z.output<typeof notificationSchema>;

export const batchSchema = z.strictObject({
    notifications: z
        .array(notificationSchema, { error: "notifications must be an array" })
        .min(1, { error: "send at least 1 notification" })
        .max(MAX_BATCH_SIZE, { error: `send at most ${MAX_BATCH_SIZE} notifications per batch` })
});

/** What is sent to the broker for one notification (`data` is `payload` as JSON). */
export interface PreparedNotification extends TriggerItem {
    payload: NotificationPayload;
}

/**
 * Channel, payload and its JSON for a valid notification; 413 when the payload exceeds Pusher's 10 KB. `now`
 * (the changedDate when none is sent) may be given as its ISO string, so a batch formats it once. The payload
 * repeats the action as `actionName`, like the Mendix 7 Java Notify action, for listeners that read it.
 */
export function prepareNotification(
    input: NotificationInput,
    now: Date | string = new Date(),
    index?: number
): PreparedNotification {
    const topic =
        input.topic ??
        (input.user !== undefined
            ? userTopic(input.user)
            : input.broadcast !== undefined
              ? broadcastTopic(input.broadcast)
              : defaultTopic(input.entity!, input.guid!));
    const derived = input.entity !== undefined && input.guid !== undefined ? null : OBJECT_TOPIC.exec(topic);
    const payload: NotificationPayload = {
        entity: input.entity ?? derived?.[1] ?? "",
        guid: input.guid ?? derived?.[2] ?? "",
        changedDate: input.changedDate ?? (typeof now === "string" ? now : now.toISOString()),
        sender: input.sender ?? "",
        actionName: input.action
    };
    if (input.data !== undefined) {
        payload.data = input.data;
    }
    const data = JSON.stringify(payload);
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: only a long payload needs counting. Native count
    // (protocol's utf8Length is the browser-safe loop); JSON.stringify leaves no lone surrogates. The trigger adds
    // the catch-up fields `seq` and `epoch` (../catchup.ts): their room counts too.
    const bytes =
        data.length * 3 + CATCHUP_FIELDS_MAX_BYTES <= MAX_PAYLOAD_BYTES
            ? 0
            : Buffer.byteLength(data, "utf8") + CATCHUP_FIELDS_MAX_BYTES;
    if (bytes > MAX_PAYLOAD_BYTES) {
        const where = index === undefined ? "The payload" : `The payload of notification ${index}`;
        throw new HttpError(
            "payload_too_large",
            `${where} is ${bytes} bytes; Pusher allows at most ${MAX_PAYLOAD_BYTES}. Shorten data.`,
            index === undefined ? { bytes, limit: MAX_PAYLOAD_BYTES } : { index, bytes, limit: MAX_PAYLOAD_BYTES }
        );
    }
    const prepared: PreparedNotification = { channel: channelForTopic(topic), action: input.action, payload, data };
    if (input.socketId !== undefined) {
        prepared.socketId = input.socketId;
    }
    return prepared;
}

function uniqueChannels(items: PreparedNotification[]): string[] {
    return [...new Set(items.map(item => item.channel))];
}

export function createNotifyRouter(ctx: ServerContext): Router {
    const router = Router();
    const { config } = ctx;
    const limit = limiter({ perMinute: config.rateLimitNotify, what: "notify" });

    router.post(
        "/rest/pusher/notify",
        limit,
        ctx.apiKey.require,
        readBody("json", Math.min(NOTIFY_BODY_LIMIT, config.bodyLimitBytes)),
        async (req, res) => {
            const parsed = notificationSchema.safeParse(req.body);
            if (!parsed.success) {
                throw invalidRequest(parsed.error, "Invalid notification.");
            }
            const item = prepareNotification(parsed.data);
            await ctx.trigger.one(item, req);
            logDebug(ctx.logger, req, { channel: item.channel, action: item.action }, "notified");
            const body: NotifyResponse = { triggered: 1, channels: [item.channel] };
            sendJson(res, 200, body);
        }
    );

    router.post(
        "/rest/pusher/notify/batch",
        limit,
        ctx.apiKey.require,
        readBody("json", config.bodyLimitBytes),
        async (req, res) => {
            const parsed = batchSchema.safeParse(req.body);
            if (!parsed.success) {
                throw invalidRequest(parsed.error, "Invalid notification batch.");
            }
            const now = new Date().toISOString();
            const items = parsed.data.notifications.map((input, index) => prepareNotification(input, now, index));
            const triggered = await ctx.trigger.batch(items, req);
            logDebug(ctx.logger, req, { triggered }, "notified batch");
            const body: NotifyResponse = { triggered, channels: uniqueChannels(items) };
            sendJson(res, 200, body);
        }
    );

    return router;
}
