import { ListenError } from "../utils/errors";
import { retryDelay } from "./backoff";
import { isPusherEvent, type ChannelLike } from "./pusherJs";
import type { PresenceMembers } from "../utils/viewers";
import type { SubscriptionStatus } from "./status";

export interface SubscriptionHandlers {
    onStatus(status: SubscriptionStatus): void;
    /** A notification arrived: `action` is the event name, `data` its payload. */
    onEvent(action: string, data: unknown): void;
    /** Presence channels: the members, once subscribed and whenever one joins or leaves. */
    onMembers?(members: PresenceMembers): void;
}

/** The pusher-js events after which a presence channel's members changed (or arrived). */
const MEMBER_EVENTS = /^pusher:(subscription_succeeded|member_added|member_removed)$/;

export interface ChannelSubscription {
    /** Our authorizer could not get a signature; the reason is kept until pusher-js reports the subscription error. */
    authorizationFailed(error: ListenError): void;
    /** Stops the retry and unbinds from the pusher-js channel. */
    stop(): void;
}

/**
 * The error of a `pusher:subscription_error` our authorizer did not explain: `data` is pusher-js's `{ type, error,
 * status }` (or the server's `{ message }`).
 */
export function subscriptionError(channelName: string, data: unknown): ListenError {
    const { status, error, message } = (data ?? {}) as { status?: unknown; error?: unknown; message?: unknown };
    let reason: string | undefined;
    if (typeof error === "string") {
        reason = error;
    } else if (typeof message === "string") {
        reason = message;
    } else {
        reason = JSON.stringify(data);
    }
    let kind: "not-signed-in" | "forbidden" | "subscription" = "subscription";
    if (status === 401) {
        kind = "not-signed-in";
    } else if (status === 403) {
        kind = "forbidden";
    }
    return new ListenError(
        kind,
        `The server refused to let this page listen to ${channelName}${reason ? ` (${reason})` : ""}.`,
        typeof status === "number" ? { status, retryable: status >= 500 } : {}
    );
}

/**
 * Subscribes one channel on a pusher-js client and follows the subscription: reports "subscribed", or the refusal
 * (tried again with backoff when it is temporary: network, 5xx), and passes the channel's notifications on, never
 * pusher-js's own events. pusher-js subscribes the channel again by itself after a reconnect.
 */
export function subscribeChannel(
    client: { subscribe(channelName: string): ChannelLike },
    channelName: string,
    handlers: SubscriptionHandlers
): ChannelSubscription {
    /** Failed attempts since the last success, and the timer of the next one. */
    let failures = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let authError: ListenError | undefined;

    const onSubscriptionError = (data: unknown): void => {
        const error = authError ?? subscriptionError(channelName, data);
        authError = undefined;
        if (!error.retryable) {
            handlers.onStatus({ state: "error", error });
            return;
        }
        const delayMs = retryDelay(error, failures);
        failures++;
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => client.subscribe(channelName), delayMs);
        handlers.onStatus({ state: "retrying", error, retryInMs: delayMs });
    };

    /** A copy of a presence channel's members (pusher-js changes its own in place), for `onMembers`. */
    const reportMembers = (): void => {
        const members = channel.members?.members;
        if (members !== undefined && handlers.onMembers) {
            handlers.onMembers({ ...members });
        }
    };

    const onChannelEvent = (event: string, data: unknown): void => {
        if (MEMBER_EVENTS.test(event)) {
            reportMembers();
        }
        if (event === "pusher:subscription_succeeded") {
            clearTimeout(retryTimer);
            failures = 0;
            handlers.onStatus({ state: "subscribed" });
        } else if (event === "pusher:subscription_error") {
            onSubscriptionError(data);
        } else if (!isPusherEvent(event)) {
            handlers.onEvent(event, data);
        }
    };

    const channel = client.subscribe(channelName);
    channel.bind_global(onChannelEvent);
    if (channel.subscribed === true) {
        reportMembers();
        handlers.onStatus({ state: "subscribed" });
    }
    return {
        authorizationFailed(error) {
            authError = error;
        },
        stop() {
            clearTimeout(retryTimer);
            channel.unbind_global(onChannelEvent);
        }
    };
}
