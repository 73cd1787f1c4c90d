/**
 * `POST /rest/pusher/notify` and `POST /rest/pusher/notify/batch` (Bearer NOTIFY_API_KEY): one notification,
 * or up to 100, handed to the broker through `ctx.trigger` (see ../trigger.ts: the pusher SDK's `trigger` /
 * `triggerBatch` in chunks of 10 for Pusher Channels and Pusher-compatible hosts, in-process for the embedded
 * broker).
 */
import { Router } from "express";
import { z } from "zod";
import {
    ENTITY_NAME_PATTERN,
    GUID_PATTERN,
    MAX_DATA_LENGTH,
    MAX_PAYLOAD_BYTES,
    channelForTopic,
    defaultTopic,
    validateAction,
    validateTopic,
    type NotificationPayload
} from "../../protocol/index.js";
import type { ServerContext } from "../context.js";
import { HttpError, invalidRequest } from "../errors.js";
import { jsonBody, limiter } from "../middleware.js";
import type { TriggerItem } from "../trigger.js";
import { SOCKET_ID_PATTERN } from "./auth.js";

export { BATCH_CHUNK_SIZE } from "../trigger.js";

/** A single notification request is small: 16 KB at most. */
export const NOTIFY_BODY_LIMIT = 16 * 1024;
export const MAX_BATCH_SIZE = 100;
export const MAX_SENDER_LENGTH = 200;
/** `Module.Entity.guid` topics give entity and guid for the payload. */
const OBJECT_TOPIC = /^([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\.(\d{1,20})$/;

/** Optional text field; `null` (what Mendix export mappings send for empty values) counts as absent. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform(value => value ?? undefined);

const text = (what: string) => z.string({ error: `${what} must be a string` });

const changedDateSchema = z.iso.datetime({
    offset: true,
    error: "must be an ISO 8601 date-time like 2026-11-24T10:00:00.000Z"
});

export const notificationSchema = z
    .strictObject({
        topic: optional(
            text("topic").superRefine((value, issues) => {
                const problem = validateTopic(value);
                if (problem !== null) issues.addIssue({ code: "custom", message: problem });
            })
        ),
        entity: optional(
            text("entity").regex(ENTITY_NAME_PATTERN, { error: "must be an entity name like Sales.Order" })
        ),
        guid: optional(text("guid").regex(GUID_PATTERN, { error: "must be a Mendix object id (digits only)" })),
        action: text("action").superRefine((value, issues) => {
            const problem = validateAction(value);
            if (problem !== null) issues.addIssue({ code: "custom", message: problem });
        }),
        sender: optional(text("sender").max(MAX_SENDER_LENGTH)),
        changedDate: optional(changedDateSchema),
        data: optional(text("data").max(MAX_DATA_LENGTH, { error: `must be at most ${MAX_DATA_LENGTH} characters` })),
        socketId: optional(
            text("socketId").regex(SOCKET_ID_PATTERN, { error: 'must look like "1234.5678" (digits, a dot, digits)' })
        )
    })
    .superRefine((value, issues) => {
        if (value.topic !== undefined) {
            return;
        }
        if (value.entity === undefined && value.guid === undefined) {
            issues.addIssue({ code: "custom", path: ["topic"], message: "send a topic, or entity and guid" });
        } else if (value.entity === undefined) {
            issues.addIssue({ code: "custom", path: ["entity"], message: "is required with guid (or send a topic)" });
        } else if (value.guid === undefined) {
            issues.addIssue({ code: "custom", path: ["guid"], message: "is required with entity (or send a topic)" });
        } else {
            // entity + guid make the topic: it must still give a valid channel name (at most 164 characters).
            const problem = validateTopic(defaultTopic(value.entity, value.guid));
            if (problem !== null) {
                issues.addIssue({ code: "custom", path: ["entity"], message: `entity and guid: ${problem}` });
            }
        }
    });

export type NotificationInput = z.output<typeof notificationSchema>;

export const batchSchema = z.strictObject({
    notifications: z
        .array(z.unknown(), { error: "notifications must be an array" })
        .min(1, { error: "send at least 1 notification" })
        .max(MAX_BATCH_SIZE, { error: `send at most ${MAX_BATCH_SIZE} notifications per batch` })
        .pipe(z.array(notificationSchema))
});

const NOTIFICATION_KEYS = new Set(Object.keys(notificationSchema.shape));

/** A present optional field (not undefined, not null) that is not a string, or a string `valid` refuses. */
const INVALID = Symbol("invalid");

function optionalText(value: unknown, valid: (text: string) => boolean): string | undefined | typeof INVALID {
    if (value === undefined || value === null) {
        return undefined;
    }
    return typeof value === "string" && valid(value) ? value : INVALID;
}

const isTopic = (value: string) => validateTopic(value) === null;
const isEntity = (value: string) => ENTITY_NAME_PATTERN.test(value);
const isGuid = (value: string) => GUID_PATTERN.test(value);
const isSender = (value: string) => value.length <= MAX_SENDER_LENGTH;
const isChangedDate = (value: string) => changedDateSchema.safeParse(value).success;
const isData = (value: string) => value.length <= MAX_DATA_LENGTH;
const isSocketId = (value: string) => SOCKET_ID_PATTERN.test(value);

/**
 * The fast path of `notificationSchema` for the common, valid notification: the same checks without zod's
 * per-field machinery. Returns exactly what `notificationSchema` returns for a notification it accepts, and
 * `undefined` whenever anything is off (unknown key, wrong type, failed check): the caller then parses with
 * the schema, which stays the only source of error answers. It never accepts what the schema refuses.
 */
export function fastNotification(value: unknown): NotificationInput | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return undefined;
    }
    const record = value as Record<string, unknown>;
    for (const key in record) {
        if (!NOTIFICATION_KEYS.has(key)) {
            return undefined;
        }
    }
    const { action } = record;
    if (typeof action !== "string" || validateAction(action) !== null) {
        return undefined;
    }
    const topic = optionalText(record.topic, isTopic);
    const entity = optionalText(record.entity, isEntity);
    const guid = optionalText(record.guid, isGuid);
    const sender = optionalText(record.sender, isSender);
    const changedDate = optionalText(record.changedDate, isChangedDate);
    const data = optionalText(record.data, isData);
    const socketId = optionalText(record.socketId, isSocketId);
    if (
        topic === INVALID ||
        entity === INVALID ||
        guid === INVALID ||
        sender === INVALID ||
        changedDate === INVALID ||
        data === INVALID ||
        socketId === INVALID
    ) {
        return undefined;
    }
    if (topic === undefined && (entity === undefined || guid === undefined || !isTopic(defaultTopic(entity, guid)))) {
        return undefined;
    }
    return { topic, entity, guid, action, sender, changedDate, data, socketId };
}

/** `batchSchema`'s fast path: the notifications when the body and every one of them are valid, else undefined. */
export function fastBatch(body: unknown): NotificationInput[] | undefined {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
        return undefined;
    }
    const record = body as Record<string, unknown>;
    for (const key in record) {
        if (key !== "notifications") {
            return undefined;
        }
    }
    const { notifications } = record;
    if (!Array.isArray(notifications) || notifications.length < 1 || notifications.length > MAX_BATCH_SIZE) {
        return undefined;
    }
    const result: NotificationInput[] = new Array(notifications.length);
    for (let index = 0; index < notifications.length; index++) {
        const input = fastNotification(notifications[index]);
        if (input === undefined) {
            return undefined;
        }
        result[index] = input;
    }
    return result;
}

/** What is sent to the broker for one notification (`data` is `payload` as JSON). */
export interface PreparedNotification extends TriggerItem {
    payload: NotificationPayload;
}

export interface NotifyResponse {
    triggered: number;
    channels: string[];
}

/**
 * `JSON.stringify(payload)`, the same characters in the same key order, written out: entity, guid and
 * changedDate only ever hold characters JSON does not escape (entity and guid match their patterns or are
 * empty, changedDate comes from `toISOString`), so only sender and data need `JSON.stringify`.
 */
export function payloadJson(payload: NotificationPayload): string {
    const head = `{"entity":"${payload.entity}","guid":"${payload.guid}","changedDate":"${payload.changedDate}","sender":${JSON.stringify(payload.sender)}`;
    return payload.data === undefined ? `${head}}` : `${head},"data":${JSON.stringify(payload.data)}}`;
}

/**
 * Channel, payload and its JSON for a valid notification; 413 when the payload exceeds Pusher's 10 KB. `now`
 * (the changedDate when none is sent) may be given as its ISO string, so a batch formats it once.
 */
export function prepareNotification(
    input: NotificationInput,
    now: Date | string = new Date(),
    index?: number
): PreparedNotification {
    const topic = input.topic ?? defaultTopic(input.entity!, input.guid!);
    const derived = input.entity !== undefined && input.guid !== undefined ? null : OBJECT_TOPIC.exec(topic);
    const payload: NotificationPayload = {
        entity: input.entity ?? derived?.[1] ?? "",
        guid: input.guid ?? derived?.[2] ?? "",
        changedDate:
            input.changedDate !== undefined
                ? new Date(input.changedDate).toISOString()
                : typeof now === "string"
                  ? now
                  : now.toISOString(),
        sender: input.sender ?? ""
    };
    if (input.data !== undefined) {
        payload.data = input.data;
    }
    const data = payloadJson(payload);
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: only a long payload needs counting. Native count
    // (protocol.ts's utf8Length is the browser-safe loop); JSON.stringify leaves no lone surrogates.
    const bytes = data.length * 3 <= MAX_PAYLOAD_BYTES ? 0 : Buffer.byteLength(data, "utf8");
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
    const limit = limiter({ perMinute: config.rateLimitNotify, what: "notify", logger: ctx.logger });

    router.post(
        "/rest/pusher/notify",
        limit,
        ctx.apiKey.require,
        ...jsonBody(Math.min(NOTIFY_BODY_LIMIT, config.bodyLimitBytes)),
        async (req, res) => {
            let input = fastNotification(req.body);
            if (input === undefined) {
                const parsed = notificationSchema.safeParse(req.body);
                if (!parsed.success) {
                    throw invalidRequest(parsed.error, "Invalid notification.");
                }
                input = parsed.data;
            }
            const item = prepareNotification(input);
            await ctx.trigger.one(item, req.log);
            req.log.debug({ channel: item.channel, action: item.action }, "notified");
            const body: NotifyResponse = { triggered: 1, channels: [item.channel] };
            res.json(body);
        }
    );

    router.post(
        "/rest/pusher/notify/batch",
        limit,
        ctx.apiKey.require,
        ...jsonBody(config.bodyLimitBytes),
        async (req, res) => {
            let notifications = fastBatch(req.body);
            if (notifications === undefined) {
                const parsed = batchSchema.safeParse(req.body);
                if (!parsed.success) {
                    throw invalidRequest(parsed.error, "Invalid notification batch.");
                }
                notifications = parsed.data.notifications;
            }
            const now = new Date().toISOString();
            const items = notifications.map((input, index) => prepareNotification(input, now, index));
            const triggered = await ctx.trigger.batch(items, req.log);
            req.log.debug({ triggered }, "notified batch");
            const body: NotifyResponse = { triggered, channels: uniqueChannels(items) };
            res.json(body);
        }
    );

    return router;
}
