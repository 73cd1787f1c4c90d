/**
 * The Pusher HTTP API of the embedded broker, enough for the unmodified `pusher` SDK:
 *   POST /apps/:appId/events         trigger(channels, event, data, { socket_id, info })
 *   POST /apps/:appId/batch_events   triggerBatch([...up to 10])
 *   GET  /apps/:appId/channels[/:name[/users]]   get({ path: "/channels..." })
 * Every request is signed (see signature.ts). The router reads its own raw body because `body_md5` is the md5
 * of the exact bytes: mount it before any global body parser. Errors answer `text/plain` like Pusher does.
 * The companion server's notify routes do not come through here: they deliver in-process (`Broker.publishAll`),
 * after their own schema, which is at least as strict as `readEvent`.
 */
import express, { type Request, type RequestHandler, type Response, Router } from "express";
import { MAX_ACTION_LENGTH, SOCKET_ID_PATTERN } from "../../protocol/index.js";
import { ClusterUnavailableError, type ChannelCounts } from "../cluster/adapter.js";
import type { Hub } from "./hub.js";
import { channelNameProblem } from "./names.js";
import { verifyApiRequest } from "./signature.js";

/** Pusher's limits. */
export const MAX_CHANNELS_PER_EVENT = 100;
export const MAX_BATCH_EVENTS = 10;

/** A request or event the broker refuses: `status` and `message` are what its HTTP API answers (text/plain). */
export class BrokerApiError extends Error {
    constructor(
        readonly status: number,
        message: string
    ) {
        super(message);
        this.name = "BrokerApiError";
    }
}

/** Errors answer `text/plain` like Pusher (the SDK shows the text), never sniffed, and never echo raw input. */
function sendText(res: Response, status: number, message: string): void {
    res.status(status).setHeader("X-Content-Type-Options", "nosniff");
    res.type("text/plain").send(message);
}

/** Raw body bytes limit: 10 events of `maxMessageBytes` each, with room for JSON escaping. */
export function apiBodyLimit(maxMessageBytes: number): number {
    return Math.max(1024 * 1024, maxMessageBytes * MAX_BATCH_EVENTS * 8);
}

interface SignedRequest {
    query: Record<string, string>;
    body: unknown;
}

interface PublishItem {
    channels: string[];
    name: string;
    data: string;
    socketId?: string;
    info?: string;
}

export function createHttpApi(hub: Hub): Router {
    const router = Router();
    const rawParser = express.raw({ type: () => true, limit: apiBodyLimit(hub.config.maxMessageBytes) });
    const readRawBody: RequestHandler = (req, res, next) => {
        rawParser(req, res, (error?: unknown) => {
            if (error !== undefined && error !== null) {
                const status = (error as { status?: number }).status ?? 400;
                sendText(res, status, status === 413 ? "Request body too large" : "Could not read the request body");
                return;
            }
            next();
        });
    };

    /** Checks app id and signature; returns the decoded query and the parsed JSON body (undefined for GET). */
    const authenticate = (req: Request, method: "GET" | "POST"): SignedRequest => {
        if (req.params.appId !== hub.config.appId) {
            throw new BrokerApiError(404, "Unknown app id");
        }
        const url = req.originalUrl;
        const queryStart = url.indexOf("?");
        const path = queryStart < 0 ? url : url.slice(0, queryStart);
        const query: Record<string, string> = {};
        for (const [name, value] of new URLSearchParams(queryStart < 0 ? "" : url.slice(queryStart + 1))) {
            if (Object.prototype.hasOwnProperty.call(query, name)) {
                throw new BrokerApiError(400, "Duplicate query parameter");
            }
            query[name] = value;
        }
        let body: Buffer = Buffer.alloc(0);
        // No body at all leaves req.body undefined; anything else that is not a Buffer was parsed by another parser.
        if (method === "POST" && req.body !== undefined) {
            if (!Buffer.isBuffer(req.body)) {
                throw new BrokerApiError(
                    500,
                    "The broker router must be mounted before any body parser (it needs the raw body for body_md5)"
                );
            }
            body = req.body;
        }
        const verdict = verifyApiRequest({
            key: hub.config.key,
            secret: hub.config.secret,
            method,
            path,
            query,
            body
        });
        if (!verdict.ok) {
            hub.logger.warn({ path, reason: verdict.message }, "broker API request refused");
            throw new BrokerApiError(verdict.status, verdict.message);
        }
        if (method === "GET") {
            return { query, body: undefined };
        }
        try {
            return { query, body: JSON.parse(body.toString("utf8")) };
        } catch {
            throw new BrokerApiError(400, "Invalid JSON body");
        }
    };

    const handle =
        (method: "GET" | "POST", run: (request: SignedRequest, req: Request) => unknown): RequestHandler =>
        async (req, res) => {
            try {
                // Channel answers may come from every instance (../cluster/): then they are awaited.
                res.status(200).json(await run(authenticate(req, method), req));
            } catch (error) {
                if (error instanceof BrokerApiError || error instanceof ClusterUnavailableError) {
                    sendText(res, error.status, error.message);
                    return;
                }
                hub.logger.error({ err: error }, "broker API request failed");
                sendText(res, 500, "Internal error");
            }
        };

    /** The `info` fields asked for, from the channel's counts over every instance. */
    const channelInfo = (channel: string, counts: ChannelCounts, info: string | undefined): Record<string, number> => {
        const result: Record<string, number> = {};
        const fields = info === undefined ? [] : info.split(",");
        if (fields.includes("subscription_count")) {
            result.subscription_count = counts.subscriptions;
        }
        if (fields.includes("user_count") && channel.startsWith("presence-")) {
            result.user_count = counts.users;
        }
        return result;
    };
    const infoOf = async (channel: string, info: string): Promise<Record<string, number>> =>
        channelInfo(channel, await hub.cluster.channel(channel), info);

    router.post(
        "/apps/:appId/events",
        readRawBody,
        handle("POST", ({ body }) => {
            const item = readEvent(body, hub.config.maxMessageBytes, "events");
            hub.publish(item.channels, item.name, item.data, item.socketId);
            const info = item.info;
            if (info === undefined) {
                return {};
            }
            return (async () => {
                const channels: Record<string, Record<string, number>> = {};
                for (const channel of item.channels) {
                    channels[channel] = await infoOf(channel, info);
                }
                return { channels };
            })();
        })
    );

    router.post(
        "/apps/:appId/batch_events",
        readRawBody,
        handle("POST", ({ body }) => {
            const record = asRecord(body, "The body");
            const batch = record.batch;
            if (!Array.isArray(batch) || batch.length === 0) {
                throw new BrokerApiError(400, "batch must be a non-empty array of events");
            }
            if (batch.length > MAX_BATCH_EVENTS) {
                throw new BrokerApiError(
                    400,
                    `batch has ${batch.length} events; at most ${MAX_BATCH_EVENTS} are allowed`
                );
            }
            // Validate every event before delivering any, so a refused batch delivers nothing.
            const items = batch.map((entry, index) => readEvent(entry, hub.config.maxMessageBytes, `batch[${index}]`));
            hub.publishAll(items);
            return (async () => ({
                batch: await Promise.all(
                    items.map(item => (item.info === undefined ? {} : infoOf(item.channels[0], item.info)))
                )
            }))();
        })
    );

    router.get(
        "/apps/:appId/channels",
        handle("GET", ({ query }) => {
            const prefix = query.filter_by_prefix ?? "";
            const info = query.info;
            return (async () => {
                const channels: Record<string, Record<string, number>> = {};
                for (const [channel, counts] of await hub.cluster.channels(prefix)) {
                    channels[channel] = channelInfo(channel, counts, info);
                }
                return { channels };
            })();
        })
    );

    router.get(
        "/apps/:appId/channels/:channelName",
        handle("GET", ({ query }, req) => {
            const channel = String(req.params.channelName);
            return (async () => {
                const counts = await hub.cluster.channel(channel);
                return { occupied: counts.subscriptions > 0, ...channelInfo(channel, counts, query.info) };
            })();
        })
    );

    router.get(
        "/apps/:appId/channels/:channelName/users",
        handle("GET", (_request, req) => {
            const channel = String(req.params.channelName);
            if (!channel.startsWith("presence-")) {
                throw new BrokerApiError(400, "Users can only be listed for presence channels");
            }
            return (async () => ({
                users: Object.keys(await hub.cluster.presenceMembers(channel)).map(id => ({ id }))
            }))();
        })
    );

    return router;
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new BrokerApiError(400, `${what} must be a JSON object`);
    }
    return value as Record<string, unknown>;
}

/** Validates one event of `/events` (channels[] or channel) or one entry of `/batch_events` (channel). */
function readEvent(value: unknown, maxMessageBytes: number, where: string): PublishItem {
    const record = asRecord(value, where);
    const { name, data, socket_id: socketId, info } = record;
    if (typeof name !== "string" || name.length === 0) {
        throw new BrokerApiError(400, `${where}: name must be a non-empty string`);
    }
    if (name.length > MAX_ACTION_LENGTH) {
        throw new BrokerApiError(
            400,
            `${where}: the event name is ${name.length} characters long; at most ${MAX_ACTION_LENGTH} are allowed`
        );
    }
    if (name.startsWith("pusher:") || name.startsWith("pusher_internal:")) {
        throw new BrokerApiError(400, `${where}: event names starting with "pusher:" are reserved`);
    }
    if (typeof data !== "string") {
        throw new BrokerApiError(400, `${where}: data must be a string (JSON-encode objects)`);
    }
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: only long data needs counting.
    const bytes = data.length * 3 <= maxMessageBytes ? 0 : Buffer.byteLength(data, "utf8");
    if (bytes > maxMessageBytes) {
        throw new BrokerApiError(413, `${where}: data is ${bytes} bytes; at most ${maxMessageBytes} bytes are allowed`);
    }
    let channels: string[];
    if (record.channels !== undefined) {
        if (!Array.isArray(record.channels) || !record.channels.every(channel => typeof channel === "string")) {
            throw new BrokerApiError(400, `${where}: channels must be an array of strings`);
        }
        channels = record.channels as string[];
    } else if (typeof record.channel === "string") {
        channels = [record.channel];
    } else {
        throw new BrokerApiError(400, `${where}: channels (array) or channel (string) is required`);
    }
    if (channels.length === 0) {
        throw new BrokerApiError(400, `${where}: channels is empty`);
    }
    if (channels.length > MAX_CHANNELS_PER_EVENT) {
        throw new BrokerApiError(
            400,
            `${where}: ${channels.length} channels; at most ${MAX_CHANNELS_PER_EVENT} are allowed per event`
        );
    }
    channels.forEach((channel, index) => {
        const problem = channelNameProblem(channel, channels.length === 1 ? "the channel name" : `channels[${index}]`);
        if (problem !== null) {
            throw new BrokerApiError(400, `${where}: ${problem}`);
        }
    });
    if (socketId !== undefined && (typeof socketId !== "string" || !SOCKET_ID_PATTERN.test(socketId))) {
        throw new BrokerApiError(400, `${where}: socket_id must look like "123.456"`);
    }
    if (info !== undefined && typeof info !== "string") {
        throw new BrokerApiError(400, `${where}: info must be a comma-separated string`);
    }
    return { channels: channels.length === 1 ? channels : [...new Set(channels)], name, data, socketId, info };
}
