import Pusher, { type Options } from "pusher-js";
import { requestChannelAuthorization, type ChannelAuthorization } from "./auth";
import { fetchClientConfig, type ClientConfig, type FetchLike } from "./clientConfig";
import { ListenError, retryDelay } from "./errors";
import type { ServerEndpoints } from "./server";
import { getCsrfToken } from "./session";

/** The parts of a pusher-js `Channel` the manager uses. */
export interface ChannelLike {
    readonly subscribed?: boolean;
    bind(event: string, callback: (data: unknown) => void): unknown;
    unbind(event: string, callback: (data: unknown) => void): unknown;
    bind_global(callback: (event: string, data: unknown) => void): unknown;
    unbind_global(callback: (event: string, data: unknown) => void): unknown;
}

/** The parts of a pusher-js `Pusher` client the manager uses. */
export interface PusherLike {
    subscribe(channel: string): ChannelLike;
    unsubscribe(channel: string): void;
    disconnect(): void;
    connection: {
        bind(event: string, callback: (data: unknown) => void): unknown;
    };
}

/** Creates the one client of a page per server; the real one is `new Pusher(key, options)`. */
export type CreatePusher = (key: string, options: Options) => PusherLike;

export interface ConnectionManagerDeps {
    createPusher: CreatePusher;
    fetch: FetchLike;
    getCsrfToken: () => string | undefined;
}

/** What a widget hears about its channel. */
export type SubscriptionStatus =
    | { state: "connecting" }
    | { state: "subscribed" }
    | { state: "retrying"; error: ListenError; retryInMs?: number }
    | { state: "error"; error: ListenError };

export interface ChannelListener {
    /** A notification arrived on the channel: `action` is the event name, `data` its payload. */
    onEvent(action: string, data: unknown): void;
    onStatus(status: SubscriptionStatus): void;
}

interface ChannelEntry {
    readonly name: string;
    readonly listeners: Set<ChannelListener>;
    status: SubscriptionStatus;
    channel?: ChannelLike;
    handlers?: {
        global: (event: string, data: unknown) => void;
        succeeded: (data: unknown) => void;
        failed: (data: unknown) => void;
    };
    attempt: number;
    retryTimer?: ReturnType<typeof setTimeout>;
    /** Why our auth handler refused, kept until pusher-js reports the subscription error. */
    authError?: ListenError;
}

interface Connection {
    readonly endpoints: ServerEndpoints;
    readonly channels: Map<string, ChannelEntry>;
    pusher?: PusherLike;
    /** Set while the client configuration cannot be loaded (or the socket cannot connect at all). */
    problem?: SubscriptionStatus & { state: "retrying" | "error" };
    configAttempt: number;
    configTimer?: ReturnType<typeof setTimeout>;
}

function defaultDeps(): ConnectionManagerDeps {
    return {
        createPusher: (key, options) => new Pusher(key, options),
        fetch: (input, init) => globalThis.fetch(input, init),
        getCsrfToken
    };
}

/** pusher-js options for a client configuration from the key endpoint. */
export function pusherOptions(config: ClientConfig, authorize: Options["channelAuthorization"]): Options {
    const options: Options = { cluster: config.cluster, channelAuthorization: authorize };
    if (config.wsHost !== undefined) {
        options.wsHost = config.wsHost;
        if (config.wsPort !== undefined) {
            options.wsPort = config.wsPort;
            options.wssPort = config.wsPort;
        }
        options.forceTLS = config.forceTLS ?? false;
        options.enabledTransports = ["ws", "wss"];
    } else if (config.forceTLS !== undefined) {
        options.forceTLS = config.forceTLS;
    }
    return options;
}

function isInternalEvent(event: string): boolean {
    return event.startsWith("pusher:") || event.startsWith("pusher_internal:");
}

/**
 * One pusher-js connection per page and server, shared by all Listen widgets. Channels are reference counted: the
 * first widget on a channel subscribes, the last one out unsubscribes, and the last channel out disconnects (at the
 * end of the current task, so a widget that only changes its topic keeps the connection). Every
 * widget registers its own listener, so one widget leaving never removes another widget's handlers.
 */
export class ConnectionManager {
    private readonly deps: ConnectionManagerDeps;
    private readonly connections = new Map<string, Connection>();

    constructor(deps: Partial<ConnectionManagerDeps> = {}) {
        this.deps = { ...defaultDeps(), ...deps };
    }

    /** Number of open (or opening) connections; one per server URL in use. */
    get connectionCount(): number {
        return this.connections.size;
    }

    /** Channels with at least one listener on the connection to `base`. */
    channelNames(base: string): string[] {
        return [...(this.connections.get(base)?.channels.keys() ?? [])];
    }

    /** Listen to `channel` on the server; returns the function that stops listening. */
    subscribe(endpoints: ServerEndpoints, channelName: string, listener: ChannelListener): () => void {
        let connection = this.connections.get(endpoints.base);
        if (connection === undefined) {
            connection = { endpoints, channels: new Map(), configAttempt: 0 };
            this.connections.set(endpoints.base, connection);
            this.loadConfig(connection);
        }
        const conn = connection;
        let entry = conn.channels.get(channelName);
        const isNew = entry === undefined;
        if (entry === undefined) {
            entry = { name: channelName, listeners: new Set(), status: { state: "connecting" }, attempt: 0 };
            conn.channels.set(channelName, entry);
        }
        entry.listeners.add(listener);
        listener.onStatus(this.statusOf(conn, entry));
        if (isNew && conn.pusher !== undefined) {
            this.subscribeChannel(conn, entry);
        }

        let active = true;
        const target = entry;
        return () => {
            if (!active) {
                return;
            }
            active = false;
            target.listeners.delete(listener);
            if (target.listeners.size === 0 && conn.channels.get(channelName) === target) {
                this.removeChannel(conn, target);
            }
        };
    }

    private statusOf(conn: Connection, entry: ChannelEntry): SubscriptionStatus {
        if (conn.problem !== undefined && entry.status.state !== "error") {
            return conn.problem;
        }
        return entry.status;
    }

    private notify(conn: Connection, entry: ChannelEntry): void {
        const status = this.statusOf(conn, entry);
        for (const listener of [...entry.listeners]) {
            listener.onStatus(status);
        }
    }

    private notifyAll(conn: Connection): void {
        for (const entry of conn.channels.values()) {
            this.notify(conn, entry);
        }
    }

    private setStatus(conn: Connection, entry: ChannelEntry, status: SubscriptionStatus): void {
        entry.status = status;
        this.notify(conn, entry);
    }

    private isCurrent(conn: Connection): boolean {
        return this.connections.get(conn.endpoints.base) === conn;
    }

    private loadConfig(conn: Connection): void {
        fetchClientConfig(conn.endpoints, this.deps.fetch, this.deps.getCsrfToken()).then(
            config => {
                if (!this.isCurrent(conn)) {
                    return;
                }
                conn.problem = undefined;
                conn.configAttempt = 0;
                this.connect(conn, config);
            },
            (failure: unknown) => {
                if (!this.isCurrent(conn)) {
                    return;
                }
                const error =
                    failure instanceof ListenError
                        ? failure
                        : new ListenError("key-invalid", `Cannot load the client configuration: ${String(failure)}`);
                if (error.retryable) {
                    const delay = retryDelay(error, conn.configAttempt++);
                    conn.problem = { state: "retrying", error, retryInMs: delay };
                    conn.configTimer = setTimeout(() => {
                        conn.configTimer = undefined;
                        if (this.isCurrent(conn)) {
                            this.loadConfig(conn);
                        }
                    }, delay);
                } else {
                    conn.problem = { state: "error", error };
                }
                this.notifyAll(conn);
            }
        );
    }

    private connect(conn: Connection, config: ClientConfig): void {
        let pusher: PusherLike;
        try {
            pusher = this.deps.createPusher(
                config.key,
                pusherOptions(config, {
                    customHandler: (params, callback) => this.authorize(conn, params, callback)
                })
            );
        } catch (failure) {
            conn.problem = {
                state: "error",
                error: new ListenError(
                    "key-invalid",
                    `Cannot open the notification connection with the configuration of ${conn.endpoints.keyUrl} (${String(failure)}).`
                )
            };
            this.notifyAll(conn);
            return;
        }
        conn.pusher = pusher;
        pusher.connection.bind("state_change", data => this.onConnectionState(conn, data));
        for (const entry of conn.channels.values()) {
            this.subscribeChannel(conn, entry);
        }
    }

    private onConnectionState(conn: Connection, data: unknown): void {
        if (!this.isCurrent(conn)) {
            return;
        }
        const current = (data as { current?: unknown } | null)?.current;
        if (current === "unavailable") {
            conn.problem = {
                state: "retrying",
                error: new ListenError(
                    "key-unreachable",
                    `Lost the connection to the Notify & Listen server (${conn.endpoints.base}); reconnecting.`,
                    { retryable: true }
                )
            };
        } else if (current === "failed") {
            conn.problem = {
                state: "error",
                error: new ListenError("key-unreachable", "This browser cannot open a WebSocket connection.")
            };
        } else {
            conn.problem = undefined;
        }
        if (current !== "connected") {
            // pusher-js resubscribes every channel after reconnecting; until then nothing arrives.
            for (const entry of conn.channels.values()) {
                if (entry.status.state === "subscribed") {
                    entry.status = { state: "connecting" };
                }
            }
        }
        this.notifyAll(conn);
    }

    private authorize(
        conn: Connection,
        params: { socketId: string; channelName: string },
        callback: (error: Error | null, data: ChannelAuthorization | null) => void
    ): void {
        void requestChannelAuthorization(conn.endpoints, params, this.deps.fetch, this.deps.getCsrfToken()).then(
            result => {
                if (result.ok) {
                    callback(null, result.data);
                    return;
                }
                const entry = conn.channels.get(params.channelName);
                if (entry !== undefined) {
                    entry.authError = result.error;
                }
                callback(result.error, null);
            }
        );
    }

    private subscribeChannel(conn: Connection, entry: ChannelEntry): void {
        const pusher = conn.pusher;
        if (pusher === undefined) {
            return;
        }
        const handlers = {
            global: (event: string, data: unknown) => {
                if (isInternalEvent(event)) {
                    return;
                }
                for (const listener of [...entry.listeners]) {
                    listener.onEvent(event, data);
                }
            },
            succeeded: () => {
                this.clearRetry(entry);
                entry.attempt = 0;
                this.setStatus(conn, entry, { state: "subscribed" });
            },
            failed: (data: unknown) => this.onSubscriptionError(conn, entry, data)
        };
        const channel = pusher.subscribe(entry.name);
        entry.channel = channel;
        entry.handlers = handlers;
        channel.bind_global(handlers.global);
        channel.bind("pusher:subscription_succeeded", handlers.succeeded);
        channel.bind("pusher:subscription_error", handlers.failed);
        if (channel.subscribed === true) {
            this.setStatus(conn, entry, { state: "subscribed" });
        }
    }

    private onSubscriptionError(conn: Connection, entry: ChannelEntry, data: unknown): void {
        const error = entry.authError ?? subscriptionError(entry.name, data);
        entry.authError = undefined;
        if (!error.retryable) {
            this.setStatus(conn, entry, { state: "error", error });
            return;
        }
        const delay = retryDelay(error, entry.attempt++);
        this.clearRetry(entry);
        entry.retryTimer = setTimeout(() => {
            entry.retryTimer = undefined;
            if (conn.channels.get(entry.name) === entry && conn.pusher !== undefined) {
                conn.pusher.subscribe(entry.name);
            }
        }, delay);
        this.setStatus(conn, entry, { state: "retrying", error, retryInMs: delay });
    }

    private clearRetry(entry: ChannelEntry): void {
        if (entry.retryTimer !== undefined) {
            clearTimeout(entry.retryTimer);
            entry.retryTimer = undefined;
        }
    }

    private removeChannel(conn: Connection, entry: ChannelEntry): void {
        this.clearRetry(entry);
        conn.channels.delete(entry.name);
        if (entry.channel !== undefined && entry.handlers !== undefined) {
            entry.channel.unbind_global(entry.handlers.global);
            entry.channel.unbind("pusher:subscription_succeeded", entry.handlers.succeeded);
            entry.channel.unbind("pusher:subscription_error", entry.handlers.failed);
        }
        entry.channel = undefined;
        entry.handlers = undefined;
        conn.pusher?.unsubscribe(entry.name);
        if (conn.channels.size === 0) {
            // Decide after the current task: a widget whose topic changed (or that React re-mounts) unsubscribes the
            // old channel and subscribes the new one in the same commit; it must keep the connection.
            queueMicrotask(() => this.closeIfUnused(conn));
        }
    }

    private closeIfUnused(conn: Connection): void {
        if (conn.channels.size > 0 || !this.isCurrent(conn)) {
            return;
        }
        if (conn.configTimer !== undefined) {
            clearTimeout(conn.configTimer);
            conn.configTimer = undefined;
        }
        conn.pusher?.disconnect();
        conn.pusher = undefined;
        this.connections.delete(conn.endpoints.base);
    }
}

function subscriptionError(channel: string, data: unknown): ListenError {
    const record = (data !== null && typeof data === "object" ? data : {}) as {
        error?: unknown;
        status?: unknown;
        message?: unknown;
    };
    const status = typeof record.status === "number" ? record.status : undefined;
    const reason =
        typeof record.error === "string"
            ? record.error
            : typeof record.message === "string"
              ? record.message
              : JSON.stringify(data);
    return new ListenError(
        status === 401 ? "not-signed-in" : status === 403 ? "forbidden" : "subscription",
        `The server refused to let this page listen to ${channel}${reason ? ` (${reason})` : ""}.`,
        { status, retryable: status !== undefined && status >= 500 }
    );
}

let pageManager: ConnectionManager | undefined;

/** The page-wide manager shared by every Listen widget. */
export function getPageConnectionManager(): ConnectionManager {
    pageManager ??= new ConnectionManager();
    return pageManager;
}
