/**
 * Embedded Pusher protocol 7 broker: a WebSocket server for pusher-js and the signed Pusher HTTP events API for
 * the `pusher` SDK, on the companion server's own http server and express app. In memory; with a cluster adapter
 * (../cluster/) several instances share fan-out, presence and channel counts.
 *
 *   const broker = createBroker({ ...randomCredentials(), logger });
 *   app.use(broker.router);      // before any global body parser
 *   broker.attach(httpServer);   // WebSocket upgrades on /app/<key>
 */
import { randomBytes, randomInt } from "crypto";
import type { Router } from "express";
import type { IncomingMessage, Server } from "http";
import type { Logger } from "pino";
import { MAX_PAYLOAD_BYTES } from "../../protocol/index.js";
import { DEFAULT_MAX_SUBSCRIPTIONS } from "./client-messages.js";
import { CloseReason, ErrorCode } from "./codes.js";
import { readOpenFilesLimit, socketBudget } from "./descriptors.js";
import { createHttpApi } from "./http-api.js";
import { Hub, type HubEvent } from "./hub.js";
import type { BrokerObserver } from "./observer.js";
import type { ClusterAdapter } from "../cluster/adapter.js";
import { socketAddress, WsServer, type RefusalCounts } from "./ws-server.js";

export { ErrorCode } from "./codes.js";
export { BrokerApiError } from "./http-api.js";
export type { BrokerObserver } from "./observer.js";
export { channelAuthToken, signApiRequest, signChannelAuth, verifyApiRequest, verifyChannelAuth } from "./signature.js";

export interface BrokerOptions {
    appId: string;
    key: string;
    secret: string;
    logger: Logger;
    /** Sent in connection_established; default 120. */
    activityTimeoutSec?: number;
    /** Close a socket that does not answer our ping; default 30_000. */
    pongTimeoutMs?: number;
    /** WebSocket frame limit and event data limit; default 10_240. */
    maxMessageBytes?: number;
    /** Default 20_000; lowered to the open-files budget when the process's limit is lower. */
    maxConnections?: number;
    /** WebSockets from one client address; default 1_000. */
    maxConnectionsPerAddress?: number;
    /** Channels one WebSocket may join; default 100. */
    maxSubscriptions?: number;
    /** Relay `client-*` events between subscribers (Pusher's per-app setting); default false. */
    clientEvents?: boolean;
    /** Allow public channels (no signature needed); default false. */
    publicChannels?: boolean;
    /** Client address of an upgrade request; default the TCP peer's address. */
    clientAddress?: (request: IncomingMessage) => string;
    /**
     * The process's open-files limit; default read at start (`readOpenFilesLimit`), `null` for none. The broker
     * keeps 10 % (at least 128) of it free for HTTP and refuses further sockets with 4100.
     */
    openFilesLimit?: number | null;
    /** Told about connections, subscriptions, deliveries and errors as they happen (the server's metrics). */
    observer?: BrokerObserver;
    /** Several instances: the adapter that shares fan-out, presence and channel counts (default: this process only). */
    cluster?: Pick<ClusterAdapter, "attachBroker">;
}

/** The limits in force (after the open-files limit lowered them). */
export interface BrokerCapacity {
    maxConnections: number;
    maxConnectionsPerAddress: number;
    maxSubscriptions: number;
    clientEvents: boolean;
    publicChannels: boolean;
    /** Soft open-files limit read at start; undefined when unknown or unlimited. */
    openFilesLimit: number | undefined;
    /** Most open sockets the descriptor budget allows; undefined without a known limit. */
    socketLimit: number | undefined;
}

export interface BrokerStats {
    connections: number;
    channels: number;
    subscriptions: number;
    eventsIn: number;
    messagesOut: number;
    /** Sockets refused with 4100 so far, by reason. */
    refused: RefusalCounts;
}

export interface Broker {
    readonly appId: string;
    readonly key: string;
    readonly secret: string;
    /**
     * Express router with POST /apps/:appId/events, POST /apps/:appId/batch_events, GET /apps/:appId/channels,
     * GET /apps/:appId/channels/:name (and /users). Parses its OWN raw body (needed for body_md5): mount with
     * app.use(broker.router) BEFORE any global body parser.
     */
    readonly router: Router;
    /** Handle WebSocket upgrades for paths /app/<key> on this http server (other upgrade paths: HTTP 400). */
    attach(server: Server): void;
    /** Deliver an event in-process (same code path as the HTTP API). Returns the number of frames sent. */
    publish(channels: string[], event: string, data: string, excludeSocketId?: string): number;
    /**
     * Deliver events in-process, in order, without the HTTP API's checks: for a caller that has checked them
     * already (the notify routes, whose schema is at least as strict, see ../trigger.ts). Returns the number of
     * frames sent.
     */
    publishAll(events: readonly HubEvent[]): number;
    stats(): BrokerStats;
    /** The `limit` channels with the most subscribers, most first (walks every channel: for the operator console). */
    busiestChannels(limit: number): Array<{ channel: string; subscribers: number }>;
    /** The limits in force. */
    capacity(): BrokerCapacity;
    /** Close every socket (default code 4200 "Server restarting", reconnect-friendly) and stop accepting upgrades. Idempotent. */
    close(options?: { code?: number; reason?: string }): Promise<void>;
}

const DEFAULTS = {
    activityTimeoutSec: 120,
    pongTimeoutMs: 30_000,
    maxMessageBytes: MAX_PAYLOAD_BYTES,
    maxConnections: 20_000,
    maxConnectionsPerAddress: 1_000,
    maxSubscriptions: DEFAULT_MAX_SUBSCRIPTIONS
};

function positive(name: string, value: number): number {
    if (!Number.isFinite(value) || value <= 0) {
        throw new Error(`Broker option ${name} must be a positive number, got ${value}`);
    }
    return value;
}

export function createBroker(options: BrokerOptions): Broker {
    const { appId, key, secret } = options;
    for (const [name, value] of Object.entries({ appId, key, secret })) {
        if (typeof value !== "string" || value.length === 0) {
            throw new Error(`Broker option ${name} must be a non-empty string`);
        }
    }
    if (!/^[A-Za-z0-9_\-.]+$/.test(key)) {
        throw new Error("Broker option key may contain only letters, digits and _ - .");
    }
    if (!/^[A-Za-z0-9_\-.]+$/.test(appId)) {
        throw new Error("Broker option appId may contain only letters, digits and _ - .");
    }
    const activityTimeoutSec = positive(
        "activityTimeoutSec",
        options.activityTimeoutSec ?? DEFAULTS.activityTimeoutSec
    );
    const pongTimeoutMs = positive("pongTimeoutMs", options.pongTimeoutMs ?? DEFAULTS.pongTimeoutMs);
    const maxMessageBytes = positive("maxMessageBytes", options.maxMessageBytes ?? DEFAULTS.maxMessageBytes);
    const maxConnections = positive("maxConnections", options.maxConnections ?? DEFAULTS.maxConnections);
    const maxConnectionsPerAddress = positive(
        "maxConnectionsPerAddress",
        options.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress
    );
    const maxSubscriptions = positive("maxSubscriptions", options.maxSubscriptions ?? DEFAULTS.maxSubscriptions);
    const clientEvents = options.clientEvents ?? false;
    const publicChannels = options.publicChannels ?? false;
    const openFilesLimit =
        options.openFilesLimit === undefined ? readOpenFilesLimit() : (options.openFilesLimit ?? undefined);
    const socketLimit = socketBudget(openFilesLimit);

    const logger = options.logger.child({ component: "broker" });
    const hub = new Hub(
        { appId, key, secret, maxMessageBytes, clientEvents, publicChannels, maxSubscriptions },
        logger,
        options.observer,
        options.cluster
    );
    const ws = new WsServer(hub, {
        activityTimeoutSec,
        activityTimeoutMs: activityTimeoutSec * 1000,
        pongTimeoutMs,
        maxMessageBytes,
        maxConnections,
        maxConnectionsPerAddress,
        socketLimit,
        clientAddress: options.clientAddress ?? socketAddress
    });
    const capacity: BrokerCapacity = {
        maxConnections,
        maxConnectionsPerAddress,
        maxSubscriptions,
        clientEvents,
        publicChannels,
        openFilesLimit,
        socketLimit
    };
    const router = createHttpApi(hub);

    return {
        appId,
        key,
        secret,
        router,
        attach: server => ws.attach(server),
        publish: (channels, event, data, excludeSocketId) => hub.publish(channels, event, data, excludeSocketId),
        publishAll: events => hub.publishAll(events),
        stats: () => ({ ...hub.stats(), refused: { ...ws.refused } }),
        busiestChannels: limit => busiest(hub, limit),
        capacity: () => ({ ...capacity }),
        close: closeOptions => {
            const code = closeOptions?.code ?? ErrorCode.RESTARTING;
            if (!(code === 1000 || (code >= 3000 && code <= 4999))) {
                return Promise.reject(new Error(`Close code ${code} is not allowed; use 1000 or 3000..4999`));
            }
            const reason =
                closeOptions?.reason ?? (code === ErrorCode.RESTARTING ? CloseReason[ErrorCode.RESTARTING] : "");
            return ws.close(code, reason);
        }
    };
}

function busiest(hub: Hub, limit: number): Array<{ channel: string; subscribers: number }> {
    const top: Array<{ channel: string; subscribers: number }> = [];
    if (limit <= 0) {
        return top;
    }
    for (const channel of hub.channels.channelNames()) {
        const subscribers = hub.channels.subscriberCount(channel);
        if (top.length === limit && subscribers <= top[limit - 1].subscribers) {
            continue;
        }
        // Keep `top` sorted, most subscribers first (ties: the channel seen first stays ahead).
        let at = top.length;
        while (at > 0 && top[at - 1].subscribers < subscribers) {
            at--;
        }
        top.splice(at, 0, { channel, subscribers });
        if (top.length > limit) {
            top.pop();
        }
    }
    return top;
}

/** Random app id, key and secret (a new set per start unless BROKER_APP_ID/KEY/SECRET fix them). */
export function randomCredentials(): { appId: string; key: string; secret: string } {
    return {
        appId: String(randomInt(100_000, 10_000_000)),
        key: randomBytes(10).toString("hex"),
        secret: randomBytes(20).toString("hex")
    };
}
