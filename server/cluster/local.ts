/**
 * The local cluster adapter: one instance, everything in this process. Nothing is published anywhere; presence
 * and channel counts are the broker's own; catch-up is the in-memory store; rate limits use express-rate-limit's
 * memory store. Every answer is immediate, so a single instance behaves exactly as without an adapter.
 */
import { randomBytes } from "node:crypto";
import { createCatchupStore } from "../catchup-store.js";
import type { BrokerCluster, ChannelCounts, ClusterAdapter, LocalBrokerView } from "./adapter.js";

/** The broker's part of the local adapter, over the broker's own state. */
export function localBrokerCluster(view: LocalBrokerView): BrokerCluster {
    const counts = (channel: string): ChannelCounts => ({
        subscriptions: view.subscriberCount(channel),
        users: Object.keys(view.presenceMembers(channel)).length
    });
    return {
        shared: false,
        publish: () => undefined,
        subscribed: () => undefined,
        presenceJoined: (channel, _member, firstHere) => ({ first: firstHere, members: view.presenceMembers(channel) }),
        presenceLeft: () => true,
        presenceMembers: channel => view.presenceMembers(channel),
        channels: prefix => {
            const result = new Map<string, ChannelCounts>();
            for (const channel of view.channelNames()) {
                if (channel.startsWith(prefix)) {
                    result.set(channel, counts(channel));
                }
            }
            return result;
        },
        channel: counts
    };
}

export function createLocalAdapter(): ClusterAdapter {
    return {
        kind: "local",
        instanceId: randomBytes(6).toString("base64url"),
        attachBroker: localBrokerCluster,
        createCatchupStore: async limits => createCatchupStore(limits),
        rateLimitStore: () => undefined,
        health: () => ({ ok: true }),
        onHealth: () => undefined,
        close: async () => undefined
    };
}
