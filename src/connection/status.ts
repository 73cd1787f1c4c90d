import type { ListenError } from "../utils/errors";
import type { PresenceMembers } from "../utils/viewers";

/** What a widget hears about its channel. */
export type SubscriptionStatus =
    | { state: "connecting" }
    | { state: "subscribed" }
    | { state: "retrying"; error: ListenError; retryInMs?: number }
    | { state: "error"; error: ListenError };

/** A problem of the connection as a whole (client configuration, socket, app key): every channel shows it. */
export type ConnectionProblem = Extract<SubscriptionStatus, { state: "retrying" | "error" }>;

/** What a widget hears when its channel listens again after an interruption. */
export interface Reconnected {
    /** How long the channel did not listen. */
    offlineMs: number;
    /**
     * The channel may have missed notifications that the catch-up could not give: the server restarted (another
     * epoch), no longer keeps one, or does not answer with a catch-up at all.
     */
    mayHaveLost: boolean;
}

/** A widget listening to one channel. */
export interface ChannelListener {
    /**
     * A notification arrived on the channel, live or caught up after an interruption (at most once per `seq`):
     * `action` is the event name, `data` its payload.
     */
    onEvent(action: string, data: unknown): void;
    onStatus(status: SubscriptionStatus): void;
    /** The channel stopped listening because of the connection, and it shows (the widget says "reconnecting"). */
    onLost?(): void;
    /** The channel listens again after an interruption; the missed notifications were passed to `onEvent` before. */
    onReconnected?(info: Reconnected): void;
    /** Presence channels: the members, when the listener joins (if known) and whenever they change. */
    onMembers?(members: PresenceMembers): void;
}

/** What the widgets of a channel are told: a problem of the connection, unless the channel has its own error. */
export function channelStatus(
    own: SubscriptionStatus,
    connectionProblem: ConnectionProblem | undefined
): SubscriptionStatus {
    if (connectionProblem !== undefined && own.state !== "error") {
        return connectionProblem;
    }
    return own;
}
