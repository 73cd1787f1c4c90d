/**
 * The broker's state and its single delivery path: connections by socket id, the channel registry, presence
 * members and counters. Both the HTTP events API and `Broker.publish` deliver through `publish()`; client
 * events go through `broadcast()`.
 */
import { randomInt } from "crypto";
import type { Logger } from "pino";
import { ChannelRegistry } from "./channels.js";
import type { Connection } from "./connection.js";
import { encodeFrame, encodeJsonFrame } from "./frames.js";
import type { BrokerObserver } from "./observer.js";
import { PresenceRegistry } from "./presence.js";

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
    private eventsIn = 0;
    private messagesOut = 0;

    constructor(
        readonly config: HubConfig,
        readonly logger: Logger,
        /** Told about connections, subscriptions, deliveries and errors as they happen (the server's metrics). */
        readonly observer?: BrokerObserver
    ) {}

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
        this.observer?.subscribed(channel, first);
        return true;
    }

    /** Unsubscribes one connection from one channel; announces `member_removed` when a presence user left. */
    leave(connection: Connection, channel: string): boolean {
        if (!this.channels.unsubscribe(channel, connection)) {
            return false;
        }
        this.observer?.unsubscribed(channel, this.channels.subscriberCount(channel) === 0);
        const member = connection.presence.get(channel);
        if (member !== undefined) {
            connection.presence.delete(channel);
            if (this.presence.leave(channel, member.userId)) {
                this.broadcast(
                    channel,
                    encodeJsonFrame("pusher_internal:member_removed", { user_id: member.userId }, channel)
                );
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
        this.eventsIn++;
        const except = excludeSocketId === undefined ? undefined : this.connections.get(excludeSocketId);
        const observer = this.observer;
        const bytes = observer === undefined ? 0 : Buffer.byteLength(data, "utf8");
        let sent = 0;
        for (const channel of channels) {
            const frames =
                this.channels.subscriberCount(channel) > 0
                    ? this.broadcast(channel, encodeFrame(event, data, channel), except)
                    : 0;
            sent += frames;
            observer?.published(channel, event, bytes, frames);
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
