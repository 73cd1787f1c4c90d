/**
 * What the broker tells an observer (the server's metrics, ../metrics.ts) as things happen. The broker keeps no
 * metric logic of its own: each call is one event at the place where it happens, and an observer must be cheap
 * and must not throw (it runs on the delivery path). Without an observer nothing is called.
 */
import type { RefusalCounts } from "./ws-server.js";

export interface BrokerObserver {
    /** A socket got `pusher:connection_established`. */
    connectionOpened(): void;
    /** An established socket closed, with the close code `ws` reports (1005: none sent, 1006: cut without one). */
    connectionClosed(code: number): void;
    /** A socket was refused with 4100, and by which limit. */
    connectionRefused(reason: keyof RefusalCounts): void;
    /** The broker sent a `pusher:error` with this code (at the handshake, 4001/4007/4100, or later, 43xx). */
    errorSent(code: number): void;
    /** A subscription was refused with `pusher:subscription_error` of this `type` (AuthError, LimitReached, ...). */
    subscriptionRefused(type: string): void;
    /** `channel` got a subscriber; `first` when nobody was subscribed before. */
    subscribed(channel: string, first: boolean): void;
    /** `channel` lost a subscriber; `last` when nobody is subscribed any more. */
    unsubscribed(channel: string, last: boolean): void;
    /** An event was published on `channel`: `frames` sockets received its `bytes` of data (0 with no subscriber). */
    published(channel: string, event: string, bytes: number, frames: number): void;
}
