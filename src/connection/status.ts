import type { ListenError } from "../utils/errors";

/** What a widget hears about its channel. */
export type SubscriptionStatus =
    | { state: "connecting" }
    | { state: "subscribed" }
    | { state: "retrying"; error: ListenError; retryInMs?: number }
    | { state: "error"; error: ListenError };

/** A problem of the connection as a whole (client configuration, socket, app key): every channel shows it. */
export type ConnectionProblem = Extract<SubscriptionStatus, { state: "retrying" | "error" }>;

/** A widget listening to one channel. */
export interface ChannelListener {
    /** A notification arrived on the channel: `action` is the event name, `data` its payload. */
    onEvent(action: string, data: unknown): void;
    onStatus(status: SubscriptionStatus): void;
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
