/**
 * The broker's state and its single delivery path: connections by socket id, the channel registry, presence
 * members and counters. Both the HTTP events API and `Broker.publish` deliver through `publish()`; client
 * events go through `broadcast()` and `share()`.
 *
 * Several instances (../cluster/): whatever this instance delivers locally is also handed to `cluster.publish`,
 * and frames other instances published arrive through `deliver()`, to local subscribers only; presence members
 * and channel counts over every instance come from `cluster`. Without REDIS_URL `cluster` is the local adapter,
 * whose answers are immediate.
 */
import { randomInt } from "crypto";
import type { Logger } from "pino";
import type { BrokerCluster, ClusterAdapter, ClusterFrame, LocalBrokerView, MaybePromise } from "../cluster/adapter.js";
import { localBrokerCluster } from "../cluster/local.js";
import { ChannelRegistry } from "./channels.js";
import type { Connection } from "./connection.js";
import { encodeFrame, encodeJsonFrame } from "./frames.js";
import type { BrokerObserver } from "./observer.js";
import { PresenceRegistry, type PresenceSnapshot } from "./presence.js";

/** Runs `then` with the value, at once when it is not a promise (the local adapter), else when it settles. */
export function whenSettled<T>(value: MaybePromise<T>, then: (result: T) => void): void {
    if (value instanceof Promise) {
        void value.then(then);
    } else {
        then(value);
    }
}

/** The `subscription_succeeded` data of a presence channel with these members. */
export function presenceSnapshot(members: Record<string, unknown>): PresenceSnapshot {
    const ids = Object.keys(members);
    return { presence: { ids, hash: members, count: ids.length } };
}

export interface HubConfig {
    appId: string;
    key: string;
    secret: string;
    maxMessageBytes: number;
    /** Relay `client-*` events (Pusher's per-app "client events" setting); off by default. */
    clientEvents: boolean;
    /** Allow public channels (no signature); off by default. */
    publicChannels: boolean;
    /** Channels one connection may join. */
    maxSubscriptions: number;
}

/** One event for `publishAll`: its channels, name, data, and the socket id left out of the delivery. */
export interface HubEvent {
    channels: readonly string[];
    name: string;
    data: string;
    socketId?: string;
}

export interface HubStats {
    connections: number;
    channels: number;
    subscriptions: number;
    eventsIn: number;
    messagesOut: number;
}

export class Hub {
    readonly connections = new Map<string, Connection>();
    readonly channels = new ChannelRegistry<Connection>();
    readonly presence = new PresenceRegistry();
    /** What other instances share with this one (the local adapter without REDIS_URL). */
    readonly cluster: BrokerCluster;
    private eventsIn = 0;
    private messagesOut = 0;

    constructor(
        readonly config: HubConfig,
        readonly logger: Logger,
        /** Told about connections, subscriptions, deliveries and errors as they happen (the server's metrics). */
        readonly observer?: BrokerObserver,
        cluster?: Pick<ClusterAdapter, "attachBroker">
    ) {
        this.cluster = (cluster?.attachBroker ?? localBrokerCluster)(this.localView());
    }

    private localView(): LocalBrokerView {
        return {
            subscriberCount: channel => this.channels.subscriberCount(channel),
            channelNames: () => this.channels.channelNames(),
            presenceMembers: channel => this.presence.members(channel),
            presenceMemberships: () => this.presence.memberships(),
            deliver: frames => this.deliver(frames),
            membersGone: (gone, scope) => {
                const frames = gone.map(({ channel, userId }) => ({
                    channel,
                    frame: encodeJsonFrame("pusher_internal:member_removed", { user_id: userId }, channel)
                }));
                if (scope === "everywhere") {
                    this.deliver(frames);
                }
                this.cluster.publish(frames);
            },
            membersBack: back => {
                // This instance's sockets know them already: only the other instances are told.
                this.cluster.publish(
                    back.map(({ channel, member }) => ({
                        channel,
                        frame: encodeJsonFrame(
                            "pusher_internal:member_added",
                            { user_id: member.userId, user_info: member.userInfo },
                            channel
                        )
                    }))
                );
            }
        };
    }

    /** Delivers frames another instance published to this instance's subscribers. */
    deliver(frames: readonly ClusterFrame[]): void {
        for (const { channel, frame, except } of frames) {
            this.broadcast(channel, frame, except === undefined ? undefined : this.connections.get(except));
        }
    }

    /** `broadcast` here and on every other instance. */
    share(channel: string, frame: string, except?: Connection): number {
        const sent = this.broadcast(channel, frame, except);
        if (this.cluster.shared) {
            this.cluster.publish([{ channel, frame, except: except?.socketId }]);
        }
        return sent;
    }

    /** A random, unused socket id of the form `<int>.<int>`. */
    newSocketId(): string {
        for (;;) {
            const id = `${randomInt(1, 2 ** 31)}.${randomInt(1, 2 ** 31)}`;
            if (!this.connections.has(id)) {
                return id;
            }
        }
    }

    add(connection: Connection): void {
        this.connections.set(connection.socketId, connection);
    }

    /** Forgets a closed connection: leaves every channel (presence members included). */
    remove(connection: Connection): void {
        if (this.connections.get(connection.socketId) !== connection) {
            return;
        }
        this.connections.delete(connection.socketId);
        for (const channel of [...this.channels.channelsOf(connection)]) {
            this.leave(connection, channel);
        }
    }

    /** Subscribes one connection to one channel; false when it already was. */
    join(connection: Connection, channel: string): boolean {
        const first = this.observer !== undefined && this.channels.subscriberCount(channel) === 0;
        if (!this.channels.subscribe(channel, connection)) {
            return false;
        }
        this.cluster.subscribed(channel, 1);
        this.observer?.subscribed(channel, first);
        return true;
    }

    /** Unsubscribes one connection from one channel; announces `member_removed` when a presence user left. */
    leave(connection: Connection, channel: string): boolean {
        if (!this.channels.unsubscribe(channel, connection)) {
            return false;
        }
        this.cluster.subscribed(channel, -1);
        this.observer?.unsubscribed(channel, this.channels.subscriberCount(channel) === 0);
        const member = connection.presence.get(channel);
        if (member !== undefined) {
            connection.presence.delete(channel);
            if (this.presence.leave(channel, member.userId)) {
                // The user's last socket here: `member_removed` when it was the last on every instance too.
                whenSettled(this.cluster.presenceLeft(channel, member.userId), last => {
                    if (last) {
                        this.share(
                            channel,
                            encodeJsonFrame("pusher_internal:member_removed", { user_id: member.userId }, channel)
                        );
                    }
                });
            }
        }
        return true;
    }

    /** Sends one frame to one connection, counted in `messagesOut`. */
    send(connection: Connection, frame: string | Buffer): boolean {
        if (connection.send(frame)) {
            this.messagesOut++;
            return true;
        }
        return false;
    }

    /** Sends one already-encoded frame to every subscriber of `channel` except `except`; returns the count. */
    broadcast(channel: string, frame: string | Buffer, except?: Connection): number {
        const subscribers = this.channels.subscribers(channel);
        if (subscribers === undefined) {
            return 0;
        }
        const bytes = typeof frame === "string" ? Buffer.from(frame, "utf8") : frame;
        let sent = 0;
        for (const connection of subscribers) {
            if (connection !== except && connection.send(bytes)) {
                sent++;
            }
        }
        this.messagesOut += sent;
        return sent;
    }

    /**
     * Delivers an event to the subscribers of each channel (the frame is serialized once per channel and the
     * same bytes go to every socket). Returns the number of frames sent: a socket subscribed to two of the
     * channels receives the event twice, once per channel, like Pusher does.
     */
    publish(channels: readonly string[], event: string, data: string, excludeSocketId?: string): number {
        return this.publishAll([{ channels, name: event, data, socketId: excludeSocketId }]);
    }

    /** `publish` for each event in order; other instances get all of their frames in one cluster message. */
    publishAll(events: readonly HubEvent[]): number {
        const observer = this.observer;
        const shared = this.cluster.shared ? ([] as ClusterFrame[]) : undefined;
        let sent = 0;
        for (const { channels, name, data, socketId } of events) {
            this.eventsIn++;
            const except = socketId === undefined ? undefined : this.connections.get(socketId);
            const bytes = observer === undefined ? 0 : Buffer.byteLength(data, "utf8");
            for (const channel of channels) {
                let frames = 0;
                if (shared !== undefined) {
                    // Other instances may have subscribers: encode it whether or not this one has any.
                    const frame = encodeFrame(name, data, channel);
                    frames = this.broadcast(channel, frame, except);
                    shared.push({ channel, frame, except: socketId });
                } else if (this.channels.subscriberCount(channel) > 0) {
                    frames = this.broadcast(channel, encodeFrame(name, data, channel), except);
                }
                sent += frames;
                observer?.published(channel, name, bytes, frames);
            }
        }
        if (shared !== undefined && shared.length > 0) {
            this.cluster.publish(shared);
        }
        return sent;
    }

    /** Counts a client event received from a socket (delivered through `broadcast`). */
    countEventIn(): void {
        this.eventsIn++;
    }

    stats(): HubStats {
        return {
            connections: this.connections.size,
            channels: this.channels.channelCount,
            subscriptions: this.channels.subscriptions,
            eventsIn: this.eventsIn,
            messagesOut: this.messagesOut
        };
    }
}
