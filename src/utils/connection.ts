import Pusher, { type Options } from "pusher-js";
import { requestChannelAuthorization, type ChannelAuthorization } from "./auth";
import { fetchClientConfig, type ClientConfig, type FetchLike } from "./clientConfig";
import { backoffDelay, ListenError, retryDelay } from "./errors";
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
    /** Opens the socket (pusher-js: a no-op while connecting or connected). */
    connect(): void;
    /** Closes the socket; the channels stay known and are subscribed again after the next `connect()`. */
    disconnect(): void;
    connection: {
        /** `state_change` ({ previous, current }) and `error` are the events the manager listens to. */
        bind(event: string, callback: (data: unknown) => void): unknown;
    };
}

/** Creates the one client of a page per server; the real one is `new Pusher(key, options)`. */
export type CreatePusher = (key: string, options: Options) => PusherLike;

export interface ConnectionManagerDeps {
    createPusher: CreatePusher;
    fetch: FetchLike;
    getCsrfToken: () => string | undefined;
    /** A number in [0, 1) for the reconnect jitter; `Math.random` unless a test pins it. */
    random: () => number;
    /** How long a connection without channels stays open; `LINGER_MS` unless a test shortens it. */
    lingerMs: number;
}

/**
 * How long the connection stays open after its last channel left. A data view that switches objects drops the old
 * object's subscription while the new object loads; within this grace period the new subscription reuses the socket.
 */
export const LINGER_MS = 3000;

/** First delay of the manager's own reconnect after the socket was lost; doubles per attempt up to the cap. */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_CAP_MS = 15_000;

/** Failed reconnect attempts (about 3.5 s of outage) before the widgets show "reconnecting" instead of "connecting". */
const RECONNECT_ATTEMPTS_BEFORE_NOTICE = 3;

/**
 * Close codes with which a server refuses the app key itself: 4001 (no app with this key) and 4003 (app disabled).
 * pusher-js gives up on them for good; the manager asks the key endpoint again, since the key may have been rotated
 * (the embedded broker picks a new random key at every start unless `BROKER_KEY` fixes it).
 */
export const KEY_REFUSED_CODES: readonly number[] = [4001, 4003];

/**
 * Close codes (or handshake `pusher:error` codes) on which pusher-js gives up ("refused"): 4001-4099 and 4300 and up.
 * A `pusher:error` frame on an established connection only raises an `error` event and is not followed by a state
 * change, so its code never counts as a refusal here.
 */
function isRefusalCode(code: number): boolean {
    return (code > 4000 && code < 4100) || code >= 4300;
}

/**
 * Delay before reconnect attempt `attempt` (from 0): 0.5 s, 1 s, 2 s, 4 s … capped at 15 s, each spread by ±25 %
 * (`random` in [0, 1)) so that the pages of a restarted server do not all come back in the same millisecond.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
    const nominal = backoffDelay(attempt, RECONNECT_BASE_MS, RECONNECT_CAP_MS);
    return Math.min(RECONNECT_CAP_MS, Math.round(nominal * (0.75 + 0.5 * random())));
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

/** What the server said when it closed the socket: the close code and its reason. */
export interface CloseError {
    code: number;
    message?: string;
}

interface Connection {
    readonly endpoints: ServerEndpoints;
    readonly channels: Map<string, ChannelEntry>;
    pusher?: PusherLike;
    /** The client configuration `pusher` was created with. */
    current?: ClientConfig;
    /** The client configuration, kept when it arrived after every channel had left (no socket opened for nobody). */
    config?: ClientConfig;
    /** Set while the client configuration cannot be loaded (or the socket cannot connect at all). */
    problem?: SubscriptionStatus & { state: "retrying" | "error" };
    configAttempt: number;
    configTimer?: ReturnType<typeof setTimeout>;
    /** The socket's last state as pusher-js reported it. */
    state: string;
    /** The socket was lost (left "connected", went "unavailable" or reported an error) and is not connected yet. */
    lost: boolean;
    /** Reconnect attempts of the manager since the socket was last connected. */
    reconnectAttempt: number;
    reconnectTimer?: ReturnType<typeof setTimeout>;
    reconnectInMs?: number;
    /** True while the manager itself calls `disconnect()` + `connect()`: that "disconnected" is not a teardown. */
    reconnecting: boolean;
    /** Runs out the grace period after the last channel left, then disconnects. */
    lingerTimer?: ReturnType<typeof setTimeout>;
    /** The last socket error with a close code, read (and cleared) by the state change that follows it. */
    lastError?: CloseError;
    /** The server refused the app key (`KEY_REFUSED_CODES`) and no connection succeeded since. */
    keyRefusal?: CloseError & { key: string; visible: boolean };
    /** Rounds of "key refused -> ask the key endpoint again" since the socket was last connected. */
    keyAttempt: number;
    keyRetryInMs?: number;
    /** pusher-js gave up because the server refused the connection for another reason (protocol, quota …). */
    refused?: CloseError;
}

function defaultDeps(): ConnectionManagerDeps {
    return {
        createPusher: (key, options) => new Pusher(key, options),
        fetch: (input, init) => globalThis.fetch(input, init),
        getCsrfToken,
        random: Math.random,
        lingerMs: LINGER_MS
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
 * first widget on a channel subscribes, the last one out unsubscribes, and the last channel out disconnects after a
 * grace period (`LINGER_MS`), so a widget that changes its topic or switches objects keeps the connection. Every
 * widget registers its own listener, so one widget leaving never removes another widget's handlers.
 *
 * Reconnecting: pusher-js reconnects by itself, but when its first try meets a closed port (a server restart) it
 * waits out a 15 s transport timeout before the next one. So when the socket is lost the manager also checks with
 * backoff (`reconnectDelay`) and, if pusher-js is still not connected by then, restarts the attempt
 * (`disconnect()` + `connect()`); pusher-js subscribes every channel again once connected. A connection that
 * comes back by itself stops the checks; a connection without channels is never reconnected.
 *
 * A refused app key (close code 4001 unknown key, 4003 app disabled; pusher-js then gives up for good): the key may
 * have been rotated, or the embedded broker restarted with a new random key. The manager asks the key endpoint again;
 * with a new configuration it replaces the pusher-js client and subscribes every channel, with its listeners, on the
 * new one. While the endpoint serves the refused key, every widget says "The server refused the app key …" and the
 * manager tries again (key request + connection attempt) at the reconnect backoff. Other refusals (4002-4099, 43xx)
 * are shown as an error, without retrying.
 */
export class ConnectionManager {
    private readonly deps: ConnectionManagerDeps;
    private readonly connections = new Map<string, Connection>();

    constructor(deps: Partial<ConnectionManagerDeps> = {}) {
        this.deps = { ...defaultDeps(), ...deps };
    }

    /** Number of open (or opening, or lingering) connections; one per server URL in use. */
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
            connection = {
                endpoints,
                channels: new Map(),
                configAttempt: 0,
                state: "initialized",
                lost: false,
                reconnectAttempt: 0,
                reconnecting: false,
                keyAttempt: 0
            };
            this.connections.set(endpoints.base, connection);
            this.loadConfig(connection);
        }
        const conn = connection;
        this.clearLinger(conn);
        let entry = conn.channels.get(channelName);
        const isNew = entry === undefined;
        if (entry === undefined) {
            entry = { name: channelName, listeners: new Set(), status: { state: "connecting" }, attempt: 0 };
            conn.channels.set(channelName, entry);
        }
        entry.listeners.add(listener);
        listener.onStatus(this.statusOf(conn, entry));
        if (conn.pusher === undefined && conn.config !== undefined) {
            const config = conn.config;
            conn.config = undefined;
            this.connect(conn, config);
        } else if (isNew && conn.pusher !== undefined) {
            this.subscribeChannel(conn, entry);
            // The socket may have been lost while the connection lingered without channels: recover it now.
            this.scheduleReconnect(conn);
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
                conn.configAttempt = 0;
                if (conn.pusher !== undefined) {
                    this.onConfigReloaded(conn, config);
                    return;
                }
                conn.problem = undefined;
                if (conn.channels.size === 0) {
                    // Every widget left while the configuration loaded: open the socket only if one comes back.
                    conn.config = config;
                    return;
                }
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
                        this.reloadConfig(conn);
                    }, delay);
                } else {
                    conn.problem = { state: "error", error };
                }
                this.notifyAll(conn);
            }
        );
    }

    private connect(conn: Connection, config: ClientConfig): void {
        let pusher: PusherLike | undefined;
        try {
            pusher = this.deps.createPusher(
                config.key,
                pusherOptions(config, {
                    customHandler: (params, callback) => this.authorize(conn, pusher, params, callback)
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
        const client = pusher;
        conn.pusher = client;
        conn.current = config;
        // A replaced client (new key) and a closed connection stay quiet: only the current client is heard.
        client.connection.bind("state_change", data => {
            if (conn.pusher === client) {
                this.onConnectionState(conn, data);
            }
        });
        client.connection.bind("error", data => {
            if (conn.pusher === client) {
                this.onConnectionError(conn, data);
            }
        });
        for (const entry of conn.channels.values()) {
            this.subscribeChannel(conn, entry);
        }
    }

    private onConnectionState(conn: Connection, data: unknown): void {
        if (!this.isCurrent(conn)) {
            return;
        }
        const value = (data as { current?: unknown } | null)?.current;
        const current = typeof value === "string" ? value : "unknown";
        if (conn.reconnecting && current === "disconnected") {
            // The manager's own restart of the attempt: `connect()` follows at once.
            return;
        }
        // pusher-js reports a refusal as an error immediately followed by the state change it causes.
        const closeError = conn.lastError;
        conn.lastError = undefined;
        const previous = conn.state;
        conn.state = current;
        if (current === "connected") {
            this.stopReconnect(conn);
            this.clearConfigTimer(conn);
            conn.keyRefusal = undefined;
            conn.keyAttempt = 0;
            conn.refused = undefined;
        } else if (current === "connecting" || current === "unavailable") {
            if (previous === "connected" || current === "unavailable") {
                conn.lost = true;
            }
            if (conn.lost) {
                this.scheduleReconnect(conn);
            }
        } else {
            // "failed" (no WebSocket in this browser) or "disconnected" by pusher-js itself (the server refused the
            // connection): pusher-js does not try again, and neither does the reconnect with backoff.
            this.stopReconnect(conn);
            if (current === "disconnected" && closeError !== undefined && isRefusalCode(closeError.code)) {
                if (KEY_REFUSED_CODES.includes(closeError.code)) {
                    if (conn.channels.size === 0) {
                        // Lingering without channels: a widget that comes back opens a new connection with a new key.
                        this.closeConnection(conn);
                        return;
                    }
                    this.onKeyRefused(conn, closeError);
                } else {
                    conn.refused = closeError;
                }
            }
        }
        conn.problem = this.connectionProblem(conn);
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

    /** pusher-js reports a socket error (a close code such as 4200 on a server restart, a failed handshake …). */
    private onConnectionError(conn: Connection, data: unknown): void {
        if (!this.isCurrent(conn)) {
            return;
        }
        conn.lastError = closeErrorOf(data) ?? conn.lastError;
        if (conn.state === "failed" || conn.state === "disconnected") {
            return;
        }
        conn.lost = true;
        this.scheduleReconnect(conn);
    }

    /**
     * The server refused the app key. The first time, ask the key endpoint again at once: after a key rotation (or a
     * restart of the embedded broker with a random key) it serves the new key and the page reconnects with it. Later
     * rounds (the key did not change, or the new one is refused too) wait out the reconnect backoff first, so that a
     * server that keeps refusing costs one key request and one connection attempt per step.
     */
    private onKeyRefused(conn: Connection, closeError: CloseError): void {
        const attempt = conn.keyAttempt++;
        const previous = conn.keyRefusal;
        conn.keyRefusal = {
            ...closeError,
            key: conn.current?.key ?? "",
            visible: attempt > 0 || previous?.visible === true
        };
        this.clearConfigTimer(conn);
        if (attempt === 0) {
            conn.keyRetryInMs = undefined;
            this.loadConfig(conn);
            return;
        }
        const delay = reconnectDelay(attempt - 1, this.deps.random);
        conn.keyRetryInMs = delay;
        conn.configTimer = setTimeout(() => {
            conn.configTimer = undefined;
            this.reloadConfig(conn);
        }, delay);
    }

    /** Loads the client configuration again after a delay, unless nobody listens any more. */
    private reloadConfig(conn: Connection): void {
        if (!this.isCurrent(conn)) {
            return;
        }
        if (conn.pusher !== undefined && conn.channels.size === 0) {
            // Lingering after the server refused the key: nothing to keep; a widget that comes back starts afresh.
            this.closeConnection(conn);
            return;
        }
        this.loadConfig(conn);
    }

    /** The key endpoint answered again after the server refused the key. */
    private onConfigReloaded(conn: Connection, config: ClientConfig): void {
        const pusher = conn.pusher;
        if (pusher === undefined) {
            return;
        }
        if (conn.channels.size === 0) {
            this.closeConnection(conn);
            return;
        }
        if (conn.current === undefined || !sameClientConfig(conn.current, config)) {
            this.replaceClient(conn, config);
            return;
        }
        // The server still hands out the key it refuses: say so, and try that key once more (an app may be enabled
        // again); a new refusal starts the next, later round.
        if (conn.keyRefusal !== undefined) {
            conn.keyRefusal.visible = true;
        }
        conn.keyRetryInMs = undefined;
        conn.problem = this.connectionProblem(conn);
        this.notifyAll(conn);
        pusher.connect();
    }

    /** Drops the client with the refused key and subscribes every channel, with its listeners, on a new one. */
    private replaceClient(conn: Connection, config: ClientConfig): void {
        const old = conn.pusher;
        for (const entry of conn.channels.values()) {
            this.detachChannel(entry);
            entry.attempt = 0;
            entry.authError = undefined;
            entry.status = { state: "connecting" };
        }
        conn.pusher = undefined;
        old?.disconnect();
        this.stopReconnect(conn);
        conn.state = "initialized";
        conn.lastError = undefined;
        conn.keyRefusal = undefined;
        conn.keyRetryInMs = undefined;
        conn.refused = undefined;
        conn.problem = undefined;
        this.connect(conn, config);
        this.notifyAll(conn);
    }

    /** What every widget of the connection should show about the socket itself, if anything. */
    private connectionProblem(conn: Connection): Connection["problem"] {
        if (conn.keyRefusal?.visible === true) {
            const { code, message, key } = conn.keyRefusal;
            return {
                state: "retrying",
                error: new ListenError(
                    "key-refused",
                    `The server refused the app key "${key}" (${code}${message ? `: ${message}` : ""}) that ${conn.endpoints.keyUrl} serves. Check that the key endpoint and the WebSocket server use the same Pusher app.`,
                    { retryable: true }
                ),
                retryInMs: conn.configTimer !== undefined ? conn.keyRetryInMs : undefined
            };
        }
        if (conn.refused !== undefined) {
            const { code, message } = conn.refused;
            return {
                state: "error",
                error: new ListenError(
                    "connection-refused",
                    `The Notify & Listen server refused the connection (${code}${message ? `: ${message}` : ""}).`
                )
            };
        }
        if (conn.state === "failed") {
            return {
                state: "error",
                error: new ListenError("key-unreachable", "This browser cannot open a WebSocket connection.")
            };
        }
        if (conn.state === "unavailable" || (conn.lost && conn.reconnectAttempt >= RECONNECT_ATTEMPTS_BEFORE_NOTICE)) {
            return {
                state: "retrying",
                error: new ListenError(
                    "key-unreachable",
                    `Lost the connection to the Notify & Listen server (${conn.endpoints.base}); reconnecting.`,
                    { retryable: true }
                ),
                retryInMs: conn.reconnectTimer !== undefined ? conn.reconnectInMs : undefined
            };
        }
        return undefined;
    }

    /** Arms the next reconnect check, unless one is armed or nobody listens on the connection. */
    private scheduleReconnect(conn: Connection): boolean {
        if (
            !conn.lost ||
            conn.reconnectTimer !== undefined ||
            conn.pusher === undefined ||
            conn.channels.size === 0 ||
            !this.isCurrent(conn)
        ) {
            return false;
        }
        const delay = reconnectDelay(conn.reconnectAttempt, this.deps.random);
        conn.reconnectInMs = delay;
        conn.reconnectTimer = setTimeout(() => {
            conn.reconnectTimer = undefined;
            this.reconnect(conn);
        }, delay);
        return true;
    }

    private reconnect(conn: Connection): void {
        const pusher = conn.pusher;
        if (!this.isCurrent(conn) || pusher === undefined || conn.channels.size === 0 || !conn.lost) {
            return;
        }
        if (conn.state === "connected") {
            // pusher-js made it by itself.
            this.stopReconnect(conn);
            return;
        }
        conn.reconnectAttempt++;
        conn.reconnecting = true;
        try {
            pusher.disconnect();
            pusher.connect();
        } finally {
            conn.reconnecting = false;
        }
        // `connect()` reports "connecting", which arms the next check and updates the widgets; should a client not
        // report it, arm the check here.
        if (this.scheduleReconnect(conn)) {
            conn.problem = this.connectionProblem(conn);
            this.notifyAll(conn);
        }
    }

    private stopReconnect(conn: Connection): void {
        conn.lost = false;
        conn.reconnectAttempt = 0;
        this.clearReconnectTimer(conn);
    }

    private clearReconnectTimer(conn: Connection): void {
        if (conn.reconnectTimer !== undefined) {
            clearTimeout(conn.reconnectTimer);
            conn.reconnectTimer = undefined;
        }
    }

    private clearLinger(conn: Connection): void {
        if (conn.lingerTimer !== undefined) {
            clearTimeout(conn.lingerTimer);
            conn.lingerTimer = undefined;
        }
    }

    private authorize(
        conn: Connection,
        pusher: PusherLike | undefined,
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
                if (entry !== undefined && conn.pusher === pusher) {
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

    /** Unbinds the manager's handlers from the channel's pusher-js channel and stops its retry. */
    private detachChannel(entry: ChannelEntry): void {
        this.clearRetry(entry);
        if (entry.channel !== undefined && entry.handlers !== undefined) {
            entry.channel.unbind_global(entry.handlers.global);
            entry.channel.unbind("pusher:subscription_succeeded", entry.handlers.succeeded);
            entry.channel.unbind("pusher:subscription_error", entry.handlers.failed);
        }
        entry.channel = undefined;
        entry.handlers = undefined;
    }

    private removeChannel(conn: Connection, entry: ChannelEntry): void {
        conn.channels.delete(entry.name);
        this.detachChannel(entry);
        conn.pusher?.unsubscribe(entry.name);
        if (conn.channels.size === 0) {
            // Nobody listens: never reconnect for nobody. Keep the socket for a grace period, though: a widget whose
            // topic changed, that React re-mounts, or whose data view switches objects subscribes again shortly.
            this.clearReconnectTimer(conn);
            this.clearLinger(conn);
            conn.lingerTimer = setTimeout(() => {
                conn.lingerTimer = undefined;
                this.closeIfUnused(conn);
            }, this.deps.lingerMs);
        }
    }

    private closeIfUnused(conn: Connection): void {
        if (conn.channels.size > 0 || !this.isCurrent(conn)) {
            return;
        }
        this.closeConnection(conn);
    }

    private clearConfigTimer(conn: Connection): void {
        if (conn.configTimer !== undefined) {
            clearTimeout(conn.configTimer);
            conn.configTimer = undefined;
        }
    }

    /** Stops every timer of the connection, closes its socket and forgets it. */
    private closeConnection(conn: Connection): void {
        this.clearConfigTimer(conn);
        this.clearLinger(conn);
        this.stopReconnect(conn);
        for (const entry of conn.channels.values()) {
            this.clearRetry(entry);
        }
        conn.channels.clear();
        const pusher = conn.pusher;
        conn.pusher = undefined;
        pusher?.disconnect();
        conn.config = undefined;
        if (this.isCurrent(conn)) {
            this.connections.delete(conn.endpoints.base);
        }
    }

    /**
     * Tears the manager down: closes every connection at once (no grace period) and stops every timer. Widgets still
     * mounted hear nothing more; their unsubscribe functions become no-ops.
     */
    close(): void {
        for (const conn of [...this.connections.values()]) {
            this.closeConnection(conn);
        }
    }
}

/** Whether two client configurations open the same connection (same key, cluster, host, port and TLS). */
export function sameClientConfig(a: ClientConfig, b: ClientConfig): boolean {
    return (
        a.key === b.key &&
        a.cluster === b.cluster &&
        a.wsHost === b.wsHost &&
        a.wsPort === b.wsPort &&
        a.forceTLS === b.forceTLS
    );
}

/**
 * The close code (and reason) in a pusher-js connection `error` event: `{ type: "WebSocketError", error: { type:
 * "PusherError", data: { code, message } } }` for a refused handshake or a close, `{ type: "PusherError", data }`
 * for a close of an established connection or an error frame. Undefined for errors without a code.
 */
export function closeErrorOf(event: unknown): CloseError | undefined {
    const record = (value: unknown): Record<string, unknown> | undefined =>
        value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
    const outer = record(event);
    const data = record(record(outer?.error)?.data) ?? record(outer?.data);
    if (data === undefined || typeof data.code !== "number") {
        return undefined;
    }
    return { code: data.code, message: typeof data.message === "string" ? data.message : undefined };
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
