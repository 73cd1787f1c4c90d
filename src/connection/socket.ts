import type { ListenError } from "../utils/errors";
import type { ChannelAuthorization } from "./auth";
import type { ClientConfig } from "./clientConfig";
import {
    closeErrorOf,
    pusherOptions,
    type ChannelLike,
    type CloseError,
    type CreatePusher,
    type PusherState
} from "./pusherJs";

/**
 * The socket of one pusher-js client: pusher-js's own states, and for "disconnected" the server's close code when it
 * sent one (an `error` event right before the state change). Once the connection closes the socket (or replaces it
 * with a client for a new configuration) it is "closed" and reports nothing more.
 */
export type SocketState =
    /** Created: pusher-js starts connecting at once (it reports that before anyone can listen). */
    | { status: "initialized" }
    | { status: "connecting" }
    | { status: "connected" }
    /** pusher-js has not reached the server for a while (its `unavailableTimeout`) and keeps trying. */
    | { status: "unavailable" }
    /** pusher-js gave up: this browser cannot open a WebSocket. */
    | { status: "failed" }
    /** pusher-js closed the socket and does not try again by itself; `closeError` says why, when the server did. */
    | { status: "disconnected"; closeError?: CloseError }
    /** Closed by the connection: silent for good. */
    | { status: "closed" };

export interface SocketEvents {
    /** pusher-js moved the socket from `previous` to `next`. The socket's own restart is not reported. */
    onStateChange(next: SocketState, previous: SocketState): void;
    /** pusher-js reported an error of the socket (a close code such as 4200 on a server restart, a failed handshake …). */
    onError(state: SocketState): void;
    /** Our authorizer could not get a signature for `channelName`; pusher-js reports the subscription error next. */
    onAuthorizationFailed(channelName: string, error: ListenError): void;
}

export interface Socket {
    /** The client configuration the socket was opened with. */
    readonly config: ClientConfig;
    readonly state: SocketState;
    subscribe(channelName: string): ChannelLike;
    unsubscribe(channelName: string): void;
    /** Asks pusher-js to connect again (a no-op while it connects or is connected). */
    connect(): void;
    /**
     * Starts the connection attempt over: `disconnect()` + `connect()`. pusher-js waits out a 15 s transport timeout
     * when its first try met a closed port; this tries again at once. The "disconnected" in between is not reported.
     */
    restart(): void;
    /** Closes the socket for good; its pusher-js client reports nothing more. */
    close(): void;
}

export interface SocketOptions {
    createPusher: CreatePusher;
    config: ClientConfig;
    /** Signs the subscription of `channelName` for the socket `socketId` (`POST <server>/rest/pusher/auth`). */
    authorize(channelName: string, socketId: string): Promise<ChannelAuthorization>;
    events: SocketEvents;
}

/** Creates a pusher-js client for `options.config` (which starts connecting); throws what pusher-js throws. */
export function openSocket({ createPusher, config, authorize, events }: SocketOptions): Socket {
    let state: SocketState = { status: "initialized" };
    /** The close code of the last `error` event, read by the state change that follows it. */
    let lastCloseError: CloseError | undefined;
    /** True only inside `restart()`, between its `disconnect()` and `connect()`. */
    let restarting = false;

    const client = createPusher(
        config.key,
        pusherOptions(config, {
            customHandler: ({ channelName, socketId }, callback) => {
                authorize(channelName, socketId).then(
                    data => callback(null, data),
                    (error: ListenError) => {
                        if (state.status !== "closed") {
                            events.onAuthorizationFailed(channelName, error);
                        }
                        callback(error, null);
                    }
                );
            }
        })
    );

    client.connection.bind("state_change", data => {
        const current = (data as { current: PusherState }).current;
        if (state.status === "closed" || (restarting && current === "disconnected")) {
            return;
        }
        // pusher-js reports a refusal as an error immediately followed by the state change it causes.
        const closeError = lastCloseError;
        lastCloseError = undefined;
        const previous = state;
        state = current === "disconnected" ? { status: "disconnected", closeError } : { status: current };
        events.onStateChange(state, previous);
    });
    client.connection.bind("error", data => {
        if (state.status === "closed") {
            return;
        }
        lastCloseError = closeErrorOf(data) ?? lastCloseError;
        events.onError(state);
    });

    const restart = (): void => {
        restarting = true;
        client.disconnect();
        restarting = false;
        client.connect();
    };
    // The browser is online again (Wi-Fi back, laptop lid opened): try at once instead of at the next backoff step.
    const onOnline = (): void => {
        if (state.status === "connecting" || state.status === "unavailable") {
            restart();
        }
    };
    globalThis.addEventListener?.("online", onOnline);

    return {
        config,
        get state() {
            return state;
        },
        subscribe: channelName => client.subscribe(channelName),
        unsubscribe: channelName => client.unsubscribe(channelName),
        connect: () => client.connect(),
        restart,
        close() {
            if (state.status !== "closed") {
                state = { status: "closed" };
                globalThis.removeEventListener?.("online", onOnline);
                client.disconnect();
            }
        }
    };
}
