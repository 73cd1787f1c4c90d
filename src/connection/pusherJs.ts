/**
 * The parts of pusher-js the connection uses, and what pusher-js means by its options, states and close codes. The
 * rest of the connection sees pusher-js only through these types, so tests can put a fake in its place.
 *
 * The widget ships pusher-js's `worker` build: the same client, protocol and WebSocket transport (with the XHR
 * fallbacks), without the web build's JSONP, script loading, SockJS and old-browser transports, which this widget never
 * uses (it authorizes with its own handler and sends no stats): 1.8 KB less in a bundle with a 26 KB budget. What the
 * web build does with the page, the widget does itself: TLS on an https page (`pusherOptions`) and reconnecting
 * as soon as the browser is online again (`socket.ts`).
 */
import Pusher, { type Options } from "pusher-js/worker";
import type { ClientConfig } from "./clientConfig";

/** The parts of a pusher-js `Channel` the connection uses. */
export interface ChannelLike {
    readonly subscribed?: boolean;
    /** Presence channels: pusher-js's members, `user_id` -> `user_info` in `members.members` (one entry per user). */
    readonly members?: { readonly members?: Readonly<Record<string, unknown>> };
    /** Global handlers hear every event of the channel, pusher-js's own `pusher:*` events included. */
    bind_global(callback: (event: string, data: unknown) => void): unknown;
    unbind_global(callback: (event: string, data: unknown) => void): unknown;
}

/** The parts of a pusher-js `Pusher` client the connection uses. */
export interface PusherLike {
    subscribe(channel: string): ChannelLike;
    unsubscribe(channel: string): void;
    /** Opens the socket (pusher-js: a no-op while connecting or connected). */
    connect(): void;
    /** Closes the socket; the channels stay known and are subscribed again after the next `connect()`. */
    disconnect(): void;
    connection: {
        /** `state_change` ({ previous, current }) and `error` are the events the connection listens to. */
        bind(event: string, callback: (data: unknown) => void): unknown;
    };
}

/** Creates the one client of a page per server; the real one is `new Pusher(key, options)`. */
export type CreatePusher = (key: string, options: Options) => PusherLike;

export const createPusherJs: CreatePusher = (key, options) => new Pusher(key, options);

/** The states pusher-js reports in `state_change` events (`pusher.connection.state`). */
export type PusherState = "initialized" | "connecting" | "connected" | "unavailable" | "failed" | "disconnected";

/** pusher-js's option for private-channel authorization; the connection always passes a `customHandler`. */
export type ChannelAuthorizationOption = Options["channelAuthorization"];

/** pusher-js options for a client configuration from the key endpoint. */
export function pusherOptions(config: ClientConfig, channelAuthorization: ChannelAuthorizationOption): Options {
    const { cluster, wsHost, wsPort, forceTLS } = config;
    if (wsHost === undefined) {
        // Pusher Channels: pusher-js finds the hosts of the cluster. (pusher-js treats an undefined option like a
        // missing one.)
        return { cluster, channelAuthorization, forceTLS };
    }
    // A self-hosted server (the embedded broker, soketi, Laravel Reverb): plain WebSockets to that host, no fallback
    // to Pusher's own hosts, and TLS when the key endpoint asks for it or the page is https (a browser refuses ws://
    // from an https page).
    return {
        cluster,
        channelAuthorization,
        wsHost,
        wsPort,
        wssPort: wsPort,
        forceTLS: forceTLS === true || globalThis.location?.protocol === "https:",
        enabledTransports: ["ws", "wss"]
    };
}

/** What the server said when it closed the socket: the close code and its reason. */
export interface CloseError {
    code: number;
    message?: string;
}

/**
 * The close code (and reason) in a pusher-js connection `error` event: `{ type: "WebSocketError", error: { type:
 * "PusherError", data: { code, message } } }` for a refused handshake or a close, `{ type: "PusherError", data }`
 * for a close of an established connection or an error frame. Undefined for errors without a code.
 */
export function closeErrorOf(event: unknown): CloseError | undefined {
    const outer = event as { error?: { data?: Partial<CloseError> }; data?: Partial<CloseError> } | null | undefined;
    const data = outer?.error?.data ?? outer?.data;
    if (typeof data?.code !== "number") {
        return undefined;
    }
    return { code: data.code, message: data.message };
}

/** "4001: App key x not found", or just the code. */
export function describeClose({ code, message }: CloseError): string {
    return message ? `${code}: ${message}` : String(code);
}

/**
 * Whether pusher-js gives up for good after the server closed the socket with `code` (pusher-js 8, `getCloseAction`):
 * 4001-4099 "refused" and 4300 and up. It reconnects by itself after the others (4000 TLS only, 4100-4199 backoff,
 * 4200-4299 retry, and the WebSocket codes below 4000).
 */
export function pusherGivesUpOn(code: number): boolean {
    return (code > 4000 && code < 4100) || code >= 4300;
}

/** pusher-js's own events (`pusher:*`, `pusher_internal:*`): never a notification. */
export function isPusherEvent(event: string): boolean {
    return event.startsWith("pusher:") || event.startsWith("pusher_internal:");
}
