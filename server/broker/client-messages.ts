/**
 * What a client may send on an established connection: `pusher:ping`, `pusher:pong`, `pusher:subscribe`,
 * `pusher:unsubscribe` and `client-*` events. Nothing here throws; every refusal is answered on the socket.
 *
 * Refused subscriptions (bad channel name, missing or wrong auth, bad presence channel_data) are answered
 * like soketi does: `{"event":"pusher:subscription_error","channel":<name>,"data":{type,error,status}}`.
 * pusher-js hands any non-internal event that names a channel to that channel object, so the application
 * sees `pusher:subscription_error` on the channel it subscribed to (the same event pusher-js emits when its
 * own auth request fails, with the same `{type, error, status}` shape). Real Pusher instead sends a
 * connection-level `pusher:error` with code null, which pusher-js cannot relate to a channel and which leaves
 * the subscription pending forever. `status` follows HTTP: 401 for auth, 400 for a bad name or channel_data,
 * 429 for too many channels, so clients retry only what is worth retrying.
 */
import { ErrorCode } from "./codes.js";
import type { Connection } from "./connection.js";
import { decodeClientMessage, encodeError, encodeFrame, encodeJsonFrame } from "./frames.js";
import { presenceSnapshot, whenSettled, type Hub } from "./hub.js";
import { channelNameProblem } from "./names.js";
import { parseChannelData } from "./presence.js";
import { verifyChannelAuth } from "./signature.js";

/** Default of the channels one socket may join (`maxSubscriptions`): a page joins one per distinct topic it shows. */
export const DEFAULT_MAX_SUBSCRIPTIONS = 100;

const PONG_FRAME = encodeFrame("pusher:pong", "{}");

function isPrivate(channel: string): boolean {
    return channel.startsWith("private-");
}

function isPresence(channel: string): boolean {
    return channel.startsWith("presence-");
}

function subscriptionError(
    hub: Hub,
    connection: Connection,
    channel: string,
    type: string,
    error: string,
    status: number
) {
    hub.observer?.subscriptionRefused(type);
    hub.send(connection, encodeJsonFrame("pusher:subscription_error", { type, error, status }, channel));
}

function sendError(hub: Hub, connection: Connection, code: number, message: string): void {
    hub.observer?.errorSent(code);
    hub.send(connection, encodeError(code, message));
}

/** Handles one text frame of an established connection. */
export function handleClientFrame(hub: Hub, connection: Connection, text: string): void {
    const decoded = decodeClientMessage(text);
    if (!decoded.ok) {
        sendError(hub, connection, ErrorCode.INVALID_MESSAGE, decoded.error);
        return;
    }
    const { event, channel, data } = decoded.message;
    switch (event) {
        case "pusher:ping":
            hub.send(connection, PONG_FRAME);
            return;
        case "pusher:pong":
            return;
        case "pusher:subscribe":
            subscribe(hub, connection, data);
            return;
        case "pusher:unsubscribe":
            unsubscribe(hub, connection, data);
            return;
        default:
            if (event.startsWith("client-")) {
                clientEvent(hub, connection, event, channel, data);
            } else {
                // The event name is not echoed: error texts never carry raw client input.
                sendError(
                    hub,
                    connection,
                    ErrorCode.INVALID_MESSAGE,
                    "Unsupported event: expected pusher:ping, pusher:pong, pusher:subscribe, pusher:unsubscribe or a client- event"
                );
            }
    }
}

function readRecord(data: unknown): Record<string, unknown> | null {
    return data !== null && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
}

function subscribe(hub: Hub, connection: Connection, data: unknown): void {
    const record = readRecord(data);
    const channel = record?.channel;
    if (record === null || typeof channel !== "string") {
        sendError(hub, connection, ErrorCode.INVALID_MESSAGE, "pusher:subscribe needs data.channel (a string)");
        return;
    }
    const nameProblem = channelNameProblem(channel);
    if (nameProblem !== null) {
        subscriptionError(hub, connection, channel, "InvalidChannel", nameProblem, 400);
        return;
    }
    const presence = isPresence(channel);
    if (!isPrivate(channel) && !presence && !hub.config.publicChannels) {
        subscriptionError(
            hub,
            connection,
            channel,
            "AuthError",
            "Public channels are not allowed on this server; subscribe to a private- or presence- channel",
            403
        );
        return;
    }
    if (isPrivate(channel) || presence) {
        const auth = record.auth;
        if (typeof auth !== "string" || auth.length === 0) {
            subscriptionError(
                hub,
                connection,
                channel,
                "AuthError",
                `Subscribing to ${channel} needs an auth signature ("<key>:<signature>")`,
                401
            );
            return;
        }
        const channelData = presence ? record.channel_data : undefined;
        if (presence && typeof channelData !== "string") {
            subscriptionError(
                hub,
                connection,
                channel,
                "AuthError",
                "Presence channels need channel_data (a JSON string)",
                401
            );
            return;
        }
        const { key, secret } = hub.config;
        if (!verifyChannelAuth(key, secret, connection.socketId, channel, auth, channelData as string | undefined)) {
            subscriptionError(
                hub,
                connection,
                channel,
                "AuthError",
                `Invalid signature: the auth for ${channel} does not match this socket_id and channel`,
                401
            );
            return;
        }
    }
    const already = hub.channels.isSubscribed(channel, connection);
    const limit = hub.config.maxSubscriptions;
    if (!already && hub.channels.channelsOf(connection).size >= limit) {
        subscriptionError(
            hub,
            connection,
            channel,
            "LimitReached",
            `A connection may join at most ${limit} channels`,
            429
        );
        return;
    }
    if (!presence) {
        hub.join(connection, channel);
        hub.send(connection, encodeFrame("pusher_internal:subscription_succeeded", "{}", channel));
        return;
    }
    if (already) {
        whenSettled(hub.cluster.presenceMembers(channel), members => {
            hub.send(
                connection,
                encodeJsonFrame("pusher_internal:subscription_succeeded", presenceSnapshot(members), channel)
            );
        });
        return;
    }
    const member = parseChannelData(record.channel_data as string);
    if (member === null) {
        subscriptionError(
            hub,
            connection,
            channel,
            "InvalidChannelData",
            'channel_data must be a JSON object with a non-empty "user_id"',
            400
        );
        return;
    }
    hub.join(connection, channel);
    connection.presence.set(channel, member);
    const firstHere = hub.presence.join(channel, member);
    // The members and "first" come from every instance (at once without REDIS_URL).
    whenSettled(hub.cluster.presenceJoined(channel, member, firstHere), ({ first, members }) => {
        if (!hub.channels.isSubscribed(channel, connection)) {
            return;
        }
        if (first) {
            hub.share(
                channel,
                encodeJsonFrame(
                    "pusher_internal:member_added",
                    { user_id: member.userId, user_info: member.userInfo },
                    channel
                ),
                connection
            );
        }
        hub.send(
            connection,
            encodeJsonFrame("pusher_internal:subscription_succeeded", presenceSnapshot(members), channel)
        );
    });
}

function unsubscribe(hub: Hub, connection: Connection, data: unknown): void {
    const channel = readRecord(data)?.channel;
    if (typeof channel !== "string") {
        sendError(hub, connection, ErrorCode.INVALID_MESSAGE, "pusher:unsubscribe needs data.channel (a string)");
        return;
    }
    hub.leave(connection, channel);
}

/**
 * `client-*` events, only when the broker allows them (`clientEvents`, off by default: the product never sends
 * them, and an allowed one reaches every other listener of the object): only on private/presence channels the
 * sender joined, at most 10 per second per socket, forwarded to the channel's other subscribers (presence
 * channels add the sender's `user_id`).
 */
function clientEvent(
    hub: Hub,
    connection: Connection,
    event: string,
    channel: string | undefined,
    data: unknown
): void {
    if (!hub.config.clientEvents) {
        sendError(hub, connection, ErrorCode.CLIENT_EVENT_REJECTED, "Client events are not enabled on this server");
        return;
    }
    if (channel === undefined || !(isPrivate(channel) || isPresence(channel))) {
        sendError(
            hub,
            connection,
            ErrorCode.CLIENT_EVENT_REJECTED,
            "Client events are only allowed on private and presence channels"
        );
        return;
    }
    if (!hub.channels.isSubscribed(channel, connection)) {
        sendError(
            hub,
            connection,
            ErrorCode.CLIENT_EVENT_REJECTED,
            `Client event rejected: this connection is not subscribed to ${channel}`
        );
        return;
    }
    if (!connection.allowClientEvent()) {
        sendError(
            hub,
            connection,
            ErrorCode.RATE_LIMITED,
            "Client event rejected due to rate limit (at most 10 per second per connection)"
        );
        return;
    }
    hub.countEventIn();
    const payload = typeof data === "string" ? data : JSON.stringify(data ?? null);
    const userId = connection.presence.get(channel)?.userId;
    hub.share(channel, encodeFrame(event, payload, channel, userId), connection);
}
