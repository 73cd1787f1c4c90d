import Pusher, { type Options } from "pusher-js";
import { requestChannelAuthorization } from "./auth";
import { fetchClientConfig, type ClientConfig, type FetchLike } from "./clientConfig";
import { backoffDelay, ListenError, retryDelay, type ListenErrorKind } from "../utils/errors";
import type { ServerEndpoints } from "../utils/endpoints";
import { getCsrfToken } from "../utils/session";

/** The parts of a pusher-js `Channel` the manager uses. */
export interface ChannelLike {
    readonly subscribed?: boolean;
    /** Global handlers hear every event of the channel, pusher-js's own `pusher:*` events included. */
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

type Problem = SubscriptionStatus & { state: "retrying" | "error" };

export interface ChannelListener {
    /** A notification arrived on the channel: `action` is the event name, `data` its payload. */
    onEvent(action: string, data: unknown): void;
    onStatus(status: SubscriptionStatus): void;
}

/** What the server said when it closed the socket: the close code and its reason. */
export interface CloseError {
    code: number;
    message?: string;
}

interface ChannelEntry {
    readonly name: string;
    readonly listeners: Set<ChannelListener>;
    status: SubscriptionStatus;
    /** Unbinds the manager's handler from the pusher-js channel. */
    unbind?: () => void;
    /** Failed subscription attempts since the last success, and the timer of the next one. */
    attempt: number;
    retryTimer?: ReturnType<typeof setTimeout>;
    /** Why our auth handler refused, kept until pusher-js reports the subscription error. */
    authError?: ListenError;
}

/** The connection to one server, shared by every widget of the page that uses that server. */
interface Connection {
    readonly channels: Map<string, ChannelEntry>;
    /** Listen to a channel; returns the function that stops listening. */
    add(channelName: string, listener: ChannelListener): () => void;
    /** Stops every timer, closes the socket and forgets the connection. */
    close(): void;
}

export interface ConnectionManager {
    /** Listen to `channel` on the server; returns the function that stops listening. */
    subscribe(endpoints: ServerEndpoints, channelName: string, listener: ChannelListener): () => void;
    /**
     * Tears the manager down: closes every connection at once (no grace period) and stops every timer. Widgets still
     * mounted hear nothing more; their unsubscribe functions become no-ops.
     */
    close(): void;
    /** Number of open (or opening, or lingering) connections; one per server URL in use. */
    readonly connectionCount: number;
    /** Channels with at least one listener on the connection to `base`. */
    channelNames(base: string): string[];
}

/** pusher-js options for a client configuration from the key endpoint. */
export function pusherOptions(config: ClientConfig, authorize: Options["channelAuthorization"]): Options {
    const { cluster, wsHost, wsPort, forceTLS } = config;
    // pusher-js treats an undefined option like a missing one. A self-hosted server gets plain WebSockets (no
    // fallbacks to Pusher's hosts) and TLS only when the key endpoint asks for it.
    return {
        cluster,
        channelAuthorization: authorize,
        wsHost,
        wsPort,
        wssPort: wsPort,
        forceTLS: wsHost === undefined ? forceTLS : forceTLS === true,
        ...(wsHost !== undefined && { enabledTransports: ["ws", "wss"] })
    };
}

/**
 * Whether two client configurations open the same connection (same key, cluster, host, port and TLS). Both come
 * from `parseClientConfig`, which always writes the fields in the same order.
 */
export function sameClientConfig(a: ClientConfig, b: ClientConfig): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The close code (and reason) in a pusher-js connection `error` event: `{ type: "WebSocketError", error: { type:
 * "PusherError", data: { code, message } } }` for a refused handshake or a close, `{ type: "PusherError", data }`
 * for a close of an established connection or an error frame. Undefined for errors without a code.
 */
export function closeErrorOf(event: unknown): CloseError | undefined {
    const outer = event as { error?: { data?: Partial<CloseError> }; data?: Partial<CloseError> } | null | undefined;
    const data = outer?.error?.data ?? outer?.data;
    return typeof data?.code === "number" ? { code: data.code, message: data.message } : undefined;
}

/** "4001: App key x not found", or just the code. */
function describeClose({ code, message }: CloseError): string {
    return message ? `${code}: ${message}` : String(code);
}

function subscriptionError(channel: string, data: unknown): ListenError {
    const { status, error, message } = (data ?? {}) as { status?: unknown; error?: unknown; message?: unknown };
    const reason = typeof error === "string" ? error : typeof message === "string" ? message : JSON.stringify(data);
    return new ListenError(
        status === 401 ? "not-signed-in" : status === 403 ? "forbidden" : "subscription",
        `The server refused to let this page listen to ${channel}${reason ? ` (${reason})` : ""}.`,
        typeof status === "number" ? { status, retryable: status >= 500 } : {}
    );
}

const failed = (error: ListenError): Problem => ({ state: "error", error });

/** A temporary problem of the connection, and when the next try comes (if one is scheduled). */
const retrying = (kind: ListenErrorKind, message: string, retryInMs: number | undefined): Problem => ({
    state: "retrying",
    error: new ListenError(kind, message, { retryable: true }),
    retryInMs
});

const CONNECTING: SubscriptionStatus = { state: "connecting" };
const SUBSCRIBED: SubscriptionStatus = { state: "subscribed" };

/**
 * The connection to one server. Channels are reference counted: the first widget on a channel subscribes, the last
 * one out unsubscribes, and the last channel out disconnects after a grace period (`lingerMs`), so a widget that
 * changes its topic or switches objects keeps the connection. Every widget registers its own listener, so one widget
 * leaving never removes another widget's handlers.
 *
 * Reconnecting: pusher-js reconnects by itself, but when its first try meets a closed port (a server restart) it
 * waits out a 15 s transport timeout before the next one. So when the socket is lost the connection also checks with
 * backoff (`reconnectDelay`) and, if pusher-js is still not connected by then, restarts the attempt
 * (`disconnect()` + `connect()`); pusher-js subscribes every channel again once connected. A connection that
 * comes back by itself stops the checks; a connection without channels is never reconnected.
 *
 * A refused app key (close code 4001 unknown key, 4003 app disabled; pusher-js then gives up for good): the key may
 * have been rotated, or the embedded broker restarted with a new random key. The connection asks the key endpoint
 * again; with a new configuration it replaces the pusher-js client and subscribes every channel, with its listeners,
 * on the new one. While the endpoint serves the refused key, every widget says "The server refused the app key …"
 * and the connection tries again (key request + connection attempt) at the reconnect backoff. Other refusals
 * (4002-4099, 43xx) are shown as an error, without retrying.
 */
function openConnection(endpoints: ServerEndpoints, deps: ConnectionManagerDeps, onClose: () => void): Connection {
    const channels = new Map<string, ChannelEntry>();
    let closed = false;
    let pusher: PusherLike | undefined;
    /** The client configuration `pusher` was created with. */
    let current: ClientConfig | undefined;
    /** The client configuration, kept when it arrived after every channel had left (no socket opened for nobody). */
    let stashed: ClientConfig | undefined;
    /** Set while the client configuration cannot be loaded, or pusher-js cannot be created with it. */
    let failure: Problem | undefined;
    let configAttempt = 0;
    let configTimer: ReturnType<typeof setTimeout> | undefined;
    /** The socket's last state as pusher-js reported it. */
    let state = "initialized";
    /** The socket was lost (left "connected", went "unavailable" or reported an error) and is not connected yet. */
    let lost = false;
    /** Reconnect attempts since the socket was last connected, the timer of the next one and its delay. */
    let reconnectAttempt = 0;
    let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
    let reconnectInMs = 0;
    /** True while the connection itself calls `disconnect()` before `connect()`: that "disconnected" is no teardown. */
    let restarting = false;
    /** Runs out the grace period after the last channel left, then closes. */
    let lingerTimer: ReturnType<typeof setTimeout> | undefined;
    /** The last socket error with a close code, read (and cleared) by the state change that follows it. */
    let lastError: CloseError | undefined;
    /** The server refused the app key (`KEY_REFUSED_CODES`) and no connection succeeded since. */
    let keyRefusal: (CloseError & { key: string; visible: boolean }) | undefined;
    /** Rounds of "key refused -> ask the key endpoint again" since the socket was last connected, and the delay. */
    let keyAttempt = 0;
    let keyRetryInMs = 0;
    /** pusher-js gave up because the server refused the connection for another reason (protocol, quota …). */
    let refused: CloseError | undefined;

    /** What every widget should show about the connection itself, if anything. */
    const problem = (): Problem | undefined =>
        failure ??
        (keyRefusal?.visible
            ? retrying(
                  "key-refused",
                  `The server refused the app key "${keyRefusal.key}" (${describeClose(keyRefusal)}) that ${endpoints.keyUrl} serves. Check that the key endpoint and the WebSocket server use the same Pusher app.`,
                  configTimer && keyRetryInMs
              )
            : refused
              ? failed(
                    new ListenError(
                        "connection-refused",
                        `The Notify & Listen server refused the connection (${describeClose(refused)}).`
                    )
                )
              : state === "failed"
                ? failed(new ListenError("key-unreachable", "This browser cannot open a WebSocket connection."))
                : state === "unavailable" || (lost && reconnectAttempt >= RECONNECT_ATTEMPTS_BEFORE_NOTICE)
                  ? retrying(
                        "key-unreachable",
                        `Lost the connection to the Notify & Listen server (${endpoints.base}); reconnecting.`,
                        reconnectTimer && reconnectInMs
                    )
                  : undefined);

    /** A channel's own error wins over a problem of the connection. */
    const statusOf = (entry: ChannelEntry, connectionProblem = problem()): SubscriptionStatus =>
        connectionProblem !== undefined && entry.status.state !== "error" ? connectionProblem : entry.status;

    /** Tells the listeners of `entries` (default: every channel) their status. */
    const notify = (entries: Iterable<ChannelEntry> = channels.values()): void => {
        const connectionProblem = problem();
        for (const entry of entries) {
            for (const listener of [...entry.listeners]) {
                listener.onStatus(statusOf(entry, connectionProblem));
            }
        }
    };

    const setStatus = (entry: ChannelEntry, status: SubscriptionStatus): void => {
        entry.status = status;
        notify([entry]);
    };

    const stopReconnect = (): void => {
        lost = false;
        reconnectAttempt = 0;
        clearTimeout(reconnectTimer);
        reconnectTimer = undefined;
    };

    /** Arms the next reconnect check, unless one is armed or nobody listens on the connection. */
    const scheduleReconnect = (): boolean => {
        if (!lost || reconnectTimer !== undefined || pusher === undefined || channels.size === 0) {
            return false;
        }
        reconnectInMs = reconnectDelay(reconnectAttempt, deps.random);
        reconnectTimer = setTimeout(() => {
            reconnectTimer = undefined;
            if (pusher === undefined || channels.size === 0 || !lost) {
                return;
            }
            if (state === "connected") {
                // pusher-js made it by itself.
                stopReconnect();
                return;
            }
            reconnectAttempt++;
            restarting = true;
            pusher.disconnect();
            restarting = false;
            pusher.connect();
            // `connect()` reports "connecting", which arms the next check and updates the widgets; should a client
            // not report it, arm the check here.
            if (scheduleReconnect()) {
                notify();
            }
        }, reconnectInMs);
        return true;
    };

    /** Unbinds the manager's handler from the channel's pusher-js channel and stops its retry. */
    const detach = (entry: ChannelEntry): void => {
        clearTimeout(entry.retryTimer);
        entry.unbind?.();
    };

    const subscribeChannel = (client: PusherLike, entry: ChannelEntry): void => {
        const handler = (event: string, data: unknown): void => {
            if (event === "pusher:subscription_succeeded") {
                clearTimeout(entry.retryTimer);
                entry.attempt = 0;
                setStatus(entry, SUBSCRIBED);
            } else if (event === "pusher:subscription_error") {
                const error = entry.authError ?? subscriptionError(entry.name, data);
                entry.authError = undefined;
                if (!error.retryable) {
                    setStatus(entry, failed(error));
                    return;
                }
                const delay = retryDelay(error, entry.attempt++);
                clearTimeout(entry.retryTimer);
                entry.retryTimer = setTimeout(() => client.subscribe(entry.name), delay);
                setStatus(entry, { state: "retrying", error, retryInMs: delay });
            } else if (!event.startsWith("pusher")) {
                // `pusher:*` and `pusher_internal:*` are pusher-js's own; action names never start with "pusher".
                for (const listener of [...entry.listeners]) {
                    listener.onEvent(event, data);
                }
            }
        };
        const channel = client.subscribe(entry.name);
        channel.bind_global(handler);
        entry.unbind = () => channel.unbind_global(handler);
        if (channel.subscribed === true) {
            setStatus(entry, SUBSCRIBED);
        }
    };

    /** Creates a pusher-js client for `config` (replacing the current one) and subscribes every channel on it. */
    const connect = (config: ClientConfig): void => {
        const old = pusher;
        pusher = undefined;
        for (const entry of channels.values()) {
            detach(entry);
            entry.attempt = 0;
            entry.authError = undefined;
            entry.status = CONNECTING;
        }
        old?.disconnect();
        stopReconnect();
        state = "initialized";
        lastError = keyRefusal = refused = failure = stashed = undefined;
        let client: PusherLike;
        try {
            client = deps.createPusher(
                config.key,
                pusherOptions(config, {
                    customHandler: (params, callback) => {
                        requestChannelAuthorization(endpoints, params, deps.fetch, deps.getCsrfToken()).then(
                            data => callback(null, data),
                            (error: ListenError) => {
                                const entry = channels.get(params.channelName);
                                if (entry !== undefined && pusher === client) {
                                    entry.authError = error;
                                }
                                callback(error, null);
                            }
                        );
                    }
                })
            );
        } catch (error) {
            failure = failed(
                new ListenError(
                    "key-invalid",
                    `Cannot open the notification connection with the configuration of ${endpoints.keyUrl} (${String(error)}).`
                )
            );
            notify();
            return;
        }
        pusher = client;
        current = config;
        // A replaced client and a closed connection stay quiet: only the current client is heard.
        client.connection.bind("state_change", data => {
            if (pusher === client) {
                onState((data as { current: string }).current);
            }
        });
        client.connection.bind("error", data => {
            // A socket error: a close code such as 4200 on a server restart, a failed handshake …
            if (pusher === client) {
                lastError = closeErrorOf(data) ?? lastError;
                if (state !== "failed" && state !== "disconnected") {
                    lost = true;
                    scheduleReconnect();
                }
            }
        });
        for (const entry of channels.values()) {
            subscribeChannel(client, entry);
        }
        notify();
    };

    const onState = (next: string): void => {
        if (restarting && next === "disconnected") {
            // The connection's own restart of the attempt: `connect()` follows at once.
            return;
        }
        // pusher-js reports a refusal as an error immediately followed by the state change it causes.
        const closeError = lastError;
        lastError = undefined;
        const previous = state;
        state = next;
        if (next === "connected") {
            stopReconnect();
            clearTimeout(configTimer);
            configTimer = keyRefusal = refused = undefined;
            keyAttempt = 0;
        } else if (next === "connecting" || next === "unavailable") {
            if (previous === "connected" || next === "unavailable") {
                lost = true;
            }
            scheduleReconnect();
        } else {
            // "failed" (no WebSocket in this browser) or "disconnected" by pusher-js itself (the server refused the
            // connection): pusher-js does not try again, and neither does the reconnect with backoff.
            stopReconnect();
            if (next === "disconnected" && closeError !== undefined) {
                const code = closeError.code;
                if (KEY_REFUSED_CODES.includes(code)) {
                    if (channels.size === 0) {
                        // Lingering without channels: a widget that comes back opens a new connection with a new key.
                        close();
                        return;
                    }
                    onKeyRefused(closeError);
                } else if ((code > 4000 && code < 4100) || code >= 4300) {
                    // The codes on which pusher-js gives up. A `pusher:error` frame on an established connection
                    // only raises an `error` event and is not followed by a state change: never counted here.
                    refused = closeError;
                }
            }
        }
        if (next !== "connected") {
            // pusher-js resubscribes every channel after reconnecting; until then nothing arrives.
            for (const entry of channels.values()) {
                if (entry.status === SUBSCRIBED) {
                    entry.status = CONNECTING;
                }
            }
        }
        notify();
    };

    /**
     * The server refused the app key. The first time, ask the key endpoint again at once: after a key rotation (or a
     * restart of the embedded broker with a random key) it serves the new key and the page reconnects with it. Later
     * rounds (the key did not change, or the new one is refused too) wait out the reconnect backoff first, so that a
     * server that keeps refusing costs one key request and one connection attempt per step.
     */
    const onKeyRefused = (closeError: CloseError): void => {
        const attempt = keyAttempt++;
        keyRefusal = { ...closeError, key: current?.key ?? "", visible: attempt > 0 };
        clearTimeout(configTimer);
        configTimer = undefined;
        if (attempt === 0) {
            loadConfig();
        } else {
            keyRetryInMs = reconnectDelay(attempt - 1, deps.random);
            configTimer = setTimeout(reloadConfig, keyRetryInMs);
        }
    };

    /** Loads the client configuration again after a delay, unless nobody listens any more. */
    const reloadConfig = (): void => {
        configTimer = undefined;
        if (pusher !== undefined && channels.size === 0) {
            // Lingering after the server refused the key: nothing to keep; a widget that comes back starts afresh.
            close();
        } else {
            loadConfig();
        }
    };

    const loadConfig = (): void => {
        fetchClientConfig(endpoints, deps.fetch, deps.getCsrfToken()).then(
            config => {
                if (closed) {
                    return;
                }
                configAttempt = 0;
                failure = undefined;
                if (pusher === undefined) {
                    if (channels.size === 0) {
                        // Every widget left while the configuration loaded: open the socket only if one comes back.
                        stashed = config;
                    } else {
                        connect(config);
                    }
                } else if (channels.size === 0) {
                    close();
                } else if (!sameClientConfig(current as ClientConfig, config)) {
                    // The key endpoint answered again after the server refused the key: it serves a new key.
                    connect(config);
                } else {
                    // The server still hands out the key it refuses: say so, and try that key once more (an app may
                    // be enabled again); a new refusal starts the next, later round.
                    if (keyRefusal !== undefined) {
                        keyRefusal.visible = true;
                    }
                    notify();
                    pusher.connect();
                }
            },
            (error: ListenError) => {
                if (closed) {
                    return;
                }
                if (error.retryable) {
                    const delay = retryDelay(error, configAttempt++);
                    failure = { state: "retrying", error, retryInMs: delay };
                    configTimer = setTimeout(reloadConfig, delay);
                } else {
                    failure = failed(error);
                }
                notify();
            }
        );
    };

    const close = (): void => {
        if (closed) {
            return;
        }
        closed = true;
        clearTimeout(configTimer);
        clearTimeout(lingerTimer);
        stopReconnect();
        for (const entry of channels.values()) {
            clearTimeout(entry.retryTimer);
        }
        channels.clear();
        const old = pusher;
        pusher = stashed = undefined;
        old?.disconnect();
        onClose();
    };

    loadConfig();

    return {
        channels,
        close,
        add(channelName, listener) {
            clearTimeout(lingerTimer);
            let entry = channels.get(channelName);
            const isNew = entry === undefined;
            if (entry === undefined) {
                entry = { name: channelName, listeners: new Set(), status: CONNECTING, attempt: 0 };
                channels.set(channelName, entry);
            }
            entry.listeners.add(listener);
            listener.onStatus(statusOf(entry));
            if (pusher === undefined && stashed !== undefined) {
                connect(stashed);
            } else if (isNew && pusher !== undefined) {
                subscribeChannel(pusher, entry);
                // The socket may have been lost while the connection lingered without channels: recover it now.
                scheduleReconnect();
            }
            const target = entry;
            return () => {
                target.listeners.delete(listener);
                if (target.listeners.size === 0 && channels.get(channelName) === target) {
                    channels.delete(channelName);
                    detach(target);
                    pusher?.unsubscribe(channelName);
                    if (channels.size === 0) {
                        // Nobody listens: never reconnect for nobody. Keep the socket for a grace period, though: a
                        // widget whose topic changed, that React re-mounts, or whose data view switches objects
                        // subscribes again shortly.
                        clearTimeout(reconnectTimer);
                        reconnectTimer = undefined;
                        lingerTimer = setTimeout(close, deps.lingerMs);
                    }
                }
            };
        }
    };
}

/**
 * One pusher-js connection per page and server, shared by all Listen widgets (see `openConnection`). `deps` replaces
 * the real pusher-js, fetch, session, jitter and grace period in tests.
 */
export function createConnectionManager(deps: Partial<ConnectionManagerDeps> = {}): ConnectionManager {
    const connections = new Map<string, Connection>();
    const allDeps: ConnectionManagerDeps = {
        createPusher: (key, options) => new Pusher(key, options),
        fetch: (input, init) => globalThis.fetch(input, init),
        getCsrfToken,
        random: Math.random,
        lingerMs: LINGER_MS,
        ...deps
    };
    return {
        subscribe(endpoints, channelName, listener) {
            const base = endpoints.base;
            let connection = connections.get(base);
            if (connection === undefined) {
                connection = openConnection(endpoints, allDeps, () => connections.delete(base));
                connections.set(base, connection);
            }
            return connection.add(channelName, listener);
        },
        close() {
            for (const connection of [...connections.values()]) {
                connection.close();
            }
        },
        get connectionCount() {
            return connections.size;
        },
        channelNames: base => [...(connections.get(base)?.channels.keys() ?? [])]
    };
}

let pageManager: ConnectionManager | undefined;

/** The page-wide manager shared by every Listen widget. */
export function getPageConnectionManager(): ConnectionManager {
    return (pageManager ??= createConnectionManager());
}
