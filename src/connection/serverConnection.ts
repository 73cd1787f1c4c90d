import { CATCH_UP_EVENT, formatCursor, type StampedPayload } from "../../protocol";
import type { ServerEndpoints } from "../utils/endpoints";
import { ListenError } from "../utils/errors";
import { requestChannelAuthorization } from "./auth";
import { subscribeChannel } from "./channelSubscription";
import { createChannels, type ChannelEntry } from "./channels";
import { fetchClientConfig, sameClientConfig, type ClientConfig } from "./clientConfig";
import { createConfigLoader } from "./configLoader";
import { connectionProblem } from "./connectionProblem";
import type { FetchLike } from "./http";
import { createKeyRotation, isKeyRefused } from "./keyRotation";
import type { CloseError, CreatePusher } from "./pusherJs";
import { createReconnect } from "./reconnect";
import { openSocket, type Socket, type SocketState } from "./socket";
import { channelStatus, type ChannelListener, type ConnectionProblem, type SubscriptionStatus } from "./status";

export interface ServerConnectionDeps {
    createPusher: CreatePusher;
    fetch: FetchLike;
    getCsrfToken: () => string | undefined;
    /** A number in [0, 1) for the reconnect jitter. */
    random: () => number;
    /** How long a connection without channels stays open (`LINGER_MS`). */
    lingerMs: number;
}

/** The connection to one server, shared by every widget of the page that uses that server. */
export interface ServerConnection {
    /** Listen to a channel; returns the function that stops listening. */
    add(channelName: string, listener: ChannelListener): () => void;
    /** Channels with at least one listener. */
    channelNames(): string[];
    /** Stops every timer, closes the socket and forgets the connection. */
    close(): void;
}

/**
 * Where the connection to a server is:
 * - loading: the client configuration is on its way (`ConfigLoader` says how that goes); no socket yet;
 * - standby: the configuration arrived after every widget had left: no socket for nobody; it opens when a widget
 *   comes back within the grace period;
 * - open: a pusher-js client for the configuration; `socket.state` says how its socket is doing;
 * - unusable: pusher-js cannot be created with the configuration; every widget shows `problem`;
 * - closed: for good; the manager forgot the connection.
 */
type Phase =
    | { name: "loading" }
    | { name: "standby"; config: ClientConfig }
    | { name: "open"; socket: Socket }
    | { name: "unusable"; problem: ConnectionProblem }
    | { name: "closed" };

/**
 * The connection to one server: one pusher-js socket for every channel of the page on that server.
 *
 * - Channels are reference counted, with a grace period after the last one left (`channels.ts`).
 * - A lost socket is reconnected with backoff and jitter (`reconnect.ts`); a connection without channels is never
 *   reconnected.
 * - A refused app key (close code 4001 unknown key, 4003 app disabled; pusher-js then gives up for good) sends the
 *   connection back to the key endpoint (`keyRotation.ts`): with a new configuration it replaces the pusher-js client
 *   and subscribes every channel, with its listeners, on the new one. While the endpoint serves the refused key,
 *   every widget says "The server refused the app key …" and the connection tries again (key request + connection
 *   attempt) at the reconnect backoff. Other refusals (4002-4099, 43xx) are shown as an error, without retrying.
 * - Catch-up (docs/architecture-catchup.md): a channel that subscribes again after an interruption sends its cursor
 *   with the authorization and, once subscribed, passes on the missed notifications of the answer, then tells its
 *   widgets `onReconnected`. A notification runs at most once per action and `seq`, live, caught up or sent again.
 *   `onLost` comes when the interruption shows (the widgets' status says so).
 */
export function openServerConnection(
    endpoints: ServerEndpoints,
    deps: ServerConnectionDeps,
    onClose: () => void
): ServerConnection {
    let phase: Phase = { name: "loading" };
    const currentSocket = (): Socket | undefined => (phase.name === "open" ? phase.socket : undefined);

    const channels = createChannels(deps.lingerMs, () => close());
    const keyRotation = createKeyRotation(deps.random);
    const reconnect = createReconnect({
        random: deps.random,
        canCheck: () => currentSocket() !== undefined && channels.size > 0,
        isConnected: () => currentSocket()?.state.status === "connected",
        restart: () => currentSocket()?.restart(),
        onChange: () => notifyAll()
    });
    const loader = createConfigLoader({
        fetchConfig: () => fetchClientConfig(endpoints, deps.fetch, deps.getCsrfToken()),
        beforeScheduledLoad: () => {
            if (phase.name === "open" && channels.size === 0) {
                // Lingering after the server refused the key: nothing to keep; a widget that comes back starts afresh.
                close();
                return false;
            }
            return true;
        },
        onConfig: config => onConfig(config),
        onProblem: () => notifyAll()
    });

    /** What every widget should show about the connection itself, if anything. */
    const problem = (): ConnectionProblem | undefined =>
        connectionProblem({
            endpoints,
            configProblem: loader.problem ?? (phase.name === "unusable" ? phase.problem : undefined),
            keyRefusal: keyRotation.refusal,
            nextKeyRoundInMs: loader.nextLoadInMs,
            socket: currentSocket()?.state,
            reconnectAttempts: reconnect.attempts,
            nextReconnectInMs: reconnect.nextCheckInMs
        });

    /** Tells the listeners of `entries` their status, and `onLost` once an interruption shows in it. */
    const notify = (entries: Iterable<ChannelEntry>): void => {
        const connection = problem();
        for (const entry of entries) {
            const status = channelStatus(entry.status, connection);
            const lost =
                entry.lostAt !== undefined &&
                !entry.lostTold &&
                (status.state === "retrying" || status.state === "error");
            if (lost) {
                entry.lostTold = true;
            }
            for (const listener of [...entry.listeners]) {
                listener.onStatus(status);
                if (lost && listener.onLost) {
                    listener.onLost();
                }
            }
        }
    };

    const notifyAll = (): void => notify(channels.values());

    const setStatus = (entry: ChannelEntry, status: SubscriptionStatus): void => {
        entry.status = status;
        notify([entry]);
    };

    /** Moves the channel's cursor on; positions of another epoch (a restarted server) cannot be compared: forgotten. */
    const advance = (entry: ChannelEntry, epoch: string, seq: number): void => {
        if (entry.cursor === undefined || entry.cursor.epoch !== epoch) {
            entry.seen.clear();
            entry.cursor = { epoch, seq };
        } else if (seq > entry.cursor.seq) {
            entry.cursor.seq = seq;
        }
    };

    /** Passes a notification on, unless the channel saw its `seq` (or a later one) for that action already. */
    const deliver = (entry: ChannelEntry, action: string, data: unknown): void => {
        const { seq, epoch } = (data || {}) as Partial<StampedPayload>;
        if (typeof seq === "number" && typeof epoch === "string") {
            advance(entry, epoch, seq);
            // Positions are positive: an action not seen yet compares with 0.
            if (seq <= (entry.seen.get(action) || 0)) {
                return;
            }
            entry.seen.set(action, seq);
        } else {
            entry.unstamped = true;
        }
        for (const listener of [...entry.listeners]) {
            listener.onEvent(action, data);
        }
    };

    /** The channel is subscribed: the catch-up of its authorization, and `onReconnected` after an interruption. */
    const resume = (entry: ChannelEntry): void => {
        const answer = entry.catchup;
        entry.catchup = undefined;
        if (answer !== undefined) {
            advance(entry, answer.epoch, answer.seq);
            for (const payload of answer.missed || []) {
                deliver(entry, payload.actionName, payload);
            }
        }
        if (entry.lostAt !== undefined) {
            const info = {
                offlineMs: Date.now() - entry.lostAt,
                // Without `missed` the server did not read the cursor (an old server, or a relay that drops it); a
                // channel that also hears another sender cannot know what that one sent meanwhile.
                mayHaveLost:
                    answer === undefined ||
                    answer.missed === undefined ||
                    answer.lost !== undefined ||
                    entry.unstamped === true
            };
            entry.lostAt = undefined;
            entry.lostTold = false;
            for (const listener of [...entry.listeners]) {
                if (listener.onReconnected) {
                    listener.onReconnected(info);
                }
            }
        }
    };

    const subscribe = (socket: Socket, entry: ChannelEntry): void => {
        entry.subscription = subscribeChannel(socket, entry.name, {
            onStatus: status => {
                setStatus(entry, status);
                if (status.state === "subscribed") {
                    resume(entry);
                }
            },
            // A notification sent again for widgets that were subscribing runs under its own action name.
            onEvent: (event, data) =>
                deliver(entry, event === CATCH_UP_EVENT ? (data as StampedPayload).actionName : event, data),
            onMembers: members => {
                entry.members = members;
                for (const listener of [...entry.listeners]) {
                    listener.onMembers?.(members);
                }
            }
        });
    };

    /** Asks the server to sign `channelName`, with the channel's cursor when it subscribes again. */
    const authorize = async (channelName: string, socketId: string) => {
        const entry = channels.get(channelName);
        const cursor = entry && entry.cursor;
        const answer = await requestChannelAuthorization(
            endpoints,
            { socketId, channelName, catchup: cursor && formatCursor(cursor) },
            deps.fetch,
            deps.getCsrfToken()
        );
        if (entry !== undefined) {
            entry.catchup = answer.catchup;
        }
        return answer;
    };

    /** Creates a pusher-js client for `config` (replacing the current one) and subscribes every channel on it. */
    const open = (config: ClientConfig): void => {
        for (const entry of channels.values()) {
            entry.subscription?.stop();
            entry.subscription = undefined;
            if (entry.status.state === "subscribed") {
                entry.lostAt = Date.now();
            }
            entry.status = { state: "connecting" };
        }
        currentSocket()?.close();
        reconnect.stop();
        keyRotation.replaced();
        let socket: Socket;
        try {
            socket = openSocket({
                createPusher: deps.createPusher,
                config,
                authorize,
                events: {
                    onStateChange: onSocketState,
                    onError: state => {
                        if (state.status !== "failed" && state.status !== "disconnected") {
                            reconnect.socketLost();
                        }
                    },
                    onAuthorizationFailed: (channelName, error) =>
                        channels.get(channelName)?.subscription?.authorizationFailed(error)
                }
            });
        } catch (error) {
            const message = `Cannot open the notification connection with the configuration of ${endpoints.keyUrl} (${String(error)}).`;
            phase = { name: "unusable", problem: { state: "error", error: new ListenError("key-invalid", message) } };
            notifyAll();
            return;
        }
        phase = { name: "open", socket };
        for (const entry of channels.values()) {
            subscribe(socket, entry);
        }
        notifyAll();
    };

    const onSocketState = (next: SocketState, previous: SocketState): void => {
        switch (next.status) {
            case "connected":
                reconnect.stop();
                loader.cancel();
                keyRotation.accepted();
                break;
            case "connecting":
            case "unavailable":
                if (previous.status === "connected" || next.status === "unavailable") {
                    reconnect.socketLost();
                } else {
                    // pusher-js (or our own restart) tries again: arm the next check if the socket is lost.
                    reconnect.resume();
                }
                break;
            default:
                // "failed" (no WebSocket in this browser) or "disconnected" by pusher-js itself (the server refused
                // the connection): pusher-js does not try again, and neither does the reconnect. A refused connection
                // shows as an error (`connectionProblem`); a `pusher:error` frame on an established connection only
                // raises an `error` event, without a state change, so it never counts as one.
                reconnect.stop();
                if (
                    next.status === "disconnected" &&
                    next.closeError !== undefined &&
                    isKeyRefused(next.closeError.code)
                ) {
                    if (channels.size === 0) {
                        // Lingering without channels: a widget that comes back opens a new connection with a new key.
                        close();
                        return;
                    }
                    onKeyRefused(next.closeError);
                }
        }
        if (next.status !== "connected") {
            // pusher-js subscribes every channel again after reconnecting; until then nothing arrives.
            for (const entry of channels.values()) {
                if (entry.status.state === "subscribed") {
                    entry.status = { state: "connecting" };
                    entry.lostAt = Date.now();
                }
            }
        }
        notifyAll();
    };

    /**
     * The server refused the app key. The first time, ask the key endpoint again at once: after a key rotation (or a
     * restart of the embedded broker with a random key) it serves the new key and the page reconnects with it. Later
     * rounds (the key did not change, or the new one is refused too) wait out the reconnect backoff first.
     */
    const onKeyRefused = (closeError: CloseError): void => {
        const key = currentSocket()?.config.key ?? "";
        loader.load(keyRotation.refused(closeError, key));
    };

    const onConfig = (config: ClientConfig): void => {
        const socket = currentSocket();
        if (socket === undefined) {
            if (channels.size === 0) {
                // Every widget left while the configuration loaded: open the socket only if one comes back.
                phase = { name: "standby", config };
            } else {
                open(config);
            }
        } else if (channels.size === 0) {
            close();
        } else if (!sameClientConfig(socket.config, config)) {
            // The key endpoint answered again after the server refused the key: it serves a new key.
            open(config);
        } else {
            // The server still hands out the key it refuses: say so, and try that key once more (an app may be
            // enabled again); a new refusal starts the next, later round.
            keyRotation.sameKeyServed();
            notifyAll();
            socket.connect();
        }
    };

    const leave = (entry: ChannelEntry, listener: ChannelListener): void => {
        if (!channels.leave(entry, listener)) {
            return;
        }
        entry.subscription?.stop();
        currentSocket()?.unsubscribe(entry.name);
        if (channels.size === 0) {
            // Nobody listens: never reconnect for nobody. The socket stays for the grace period, though: a widget
            // whose topic changed, that React re-mounts, or whose data view switches objects subscribes again shortly.
            reconnect.pause();
        }
    };

    const close = (): void => {
        if (phase.name === "closed") {
            return;
        }
        const socket = currentSocket();
        phase = { name: "closed" };
        loader.stop();
        reconnect.stop();
        for (const entry of channels.values()) {
            entry.subscription?.stop();
        }
        channels.clear();
        socket?.close();
        onClose();
    };

    loader.load();

    return {
        add(channelName, listener) {
            const { entry, isNew } = channels.join(channelName, listener);
            listener.onStatus(channelStatus(entry.status, problem()));
            if (entry.members !== undefined) {
                listener.onMembers?.(entry.members);
            }
            if (phase.name === "standby") {
                open(phase.config);
            } else if (isNew && phase.name === "open") {
                subscribe(phase.socket, entry);
                // The socket may have been lost while the connection lingered without channels: recover it now.
                reconnect.resume();
            }
            return () => leave(entry, listener);
        },
        channelNames: () => channels.names(),
        close
    };
}
