/**
 * The cluster adapter: the state that several instances of the companion server share, behind one interface with
 * two implementations (docs/architecture.md, "Several instances"):
 *
 * - `local.ts`: one instance, everything in this process (the default: no REDIS_URL, nothing else needed);
 * - `redis.ts`: every instance shares, through Redis, the fan-out of frames, presence members, the channel counts
 *   of the broker's HTTP API, the catch-up state and the rate-limit counters. All Redis code lives there.
 *
 * The broker sees only `BrokerCluster` (attached once with a `LocalBrokerView` of its own state); the companion
 * server sees `ClusterAdapter`. Answers that may need Redis are `MaybePromise`: the local adapter answers at once,
 * so a single instance behaves exactly as before.
 */
import type { Store } from "express-rate-limit";
import type { CatchupLimits } from "../catchup-store.js";
import type { SharedCatchupStore } from "../catchup.js";

export type MaybePromise<T> = T | Promise<T>;

/** One encoded Pusher frame for the local subscribers of `channel` on every other instance, except socket `except`. */
export interface ClusterFrame {
    channel: string;
    frame: string;
    except?: string;
}

/** A presence member: the user id and the `user_info` of its `channel_data`. */
export interface ClusterMember {
    userId: string;
    userInfo: unknown;
}

/** Channel counts over every instance. */
export interface ChannelCounts {
    subscriptions: number;
    /** Distinct presence users (presence channels only). */
    users: number;
}

/** What the broker shows the adapter of its own (this instance's) state, and how it takes frames from others. */
export interface LocalBrokerView {
    subscriberCount(channel: string): number;
    channelNames(): Iterable<string>;
    /** Presence members with at least one socket on this instance: user id -> user_info. */
    presenceMembers(channel: string): Record<string, unknown>;
    /** Every (channel, member) with a socket on this instance (to announce them again after Redis was lost). */
    presenceMemberships(): Iterable<{ channel: string; member: ClusterMember }>;
    /** Frames another instance published: delivered to this instance's subscribers only. */
    deliver(frames: readonly ClusterFrame[]): void;
    /**
     * Members no instance holds any more: announce `member_removed` to this instance's sockets and the others
     * (`everywhere`: their last socket was on an instance that died), or only to the others (`others`: they left
     * this instance while Redis was unreachable, and its own sockets were told then).
     */
    membersGone(gone: ReadonlyArray<{ channel: string; userId: string }>, scope: "everywhere" | "others"): void;
    /** Members of this instance the others did not know (after Redis was lost): announce `member_added` to them. */
    membersBack(back: ReadonlyArray<{ channel: string; member: ClusterMember }>): void;
}

/** The shared state cannot be read now (Redis is unreachable): the broker's HTTP API answers 503. */
export class ClusterUnavailableError extends Error {
    readonly status = 503;

    constructor(message: string) {
        super(message);
        this.name = "ClusterUnavailableError";
    }
}

/** The broker's side of the adapter. */
export interface BrokerCluster {
    /** False for the local adapter: the broker skips building frames for other instances. */
    readonly shared: boolean;
    /** Frames this instance delivered locally, for every other instance (never echoed back to this one). */
    publish(frames: readonly ClusterFrame[]): void;
    /** A socket of this instance joined (+1) or left (-1) `channel`. */
    subscribed(channel: string, delta: 1 | -1): void;
    /**
     * A socket of this instance joined presence `channel` as `member` (`firstHere`: no other socket of the user is
     * on this instance). `first`: the user was on no instance before (announce `member_added`); `members`: who is
     * present on every instance now (the subscription's snapshot).
     */
    presenceJoined(
        channel: string,
        member: ClusterMember,
        firstHere: boolean
    ): MaybePromise<{ first: boolean; members: Record<string, unknown> }>;
    /** The user's last socket on this instance left `channel`; true when it was the last on every instance. */
    presenceLeft(channel: string, userId: string): MaybePromise<boolean>;
    /** Presence members on every instance: user id -> user_info. */
    presenceMembers(channel: string): MaybePromise<Record<string, unknown>>;
    /** Occupied channels whose name starts with `prefix`, with their counts over every instance. */
    channels(prefix: string): MaybePromise<Map<string, ChannelCounts>>;
    /** One channel's counts over every instance. */
    channel(name: string): MaybePromise<ChannelCounts>;
}

/** The adapter as the companion server uses it. */
export interface ClusterAdapter {
    readonly kind: "local" | "redis";
    /** Names this instance in logs and in Redis. */
    readonly instanceId: string;
    /** Ties the embedded broker to the cluster; call once, before the broker accepts sockets. */
    attachBroker(view: LocalBrokerView): BrokerCluster;
    /** The catch-up store: this process's memory, or shared positions and payloads in Redis (loaded at start). */
    createCatchupStore(limits: CatchupLimits): Promise<SharedCatchupStore>;
    /** A rate-limit counter store for the limiter `name` (one per limiter); undefined: express-rate-limit's memory. */
    rateLimitStore(name: string): Store | undefined;
    /** Whether the shared state is reachable now (`/readyz`). */
    health(): { ok: true } | { ok: false; reason: string };
    /** Told `true`/`false` when the shared state becomes reachable or is lost (the metrics' gauge). */
    onHealth(listener: (up: boolean) => void): void;
    /** Leaves the cluster (this instance's members and counts are removed) and closes the connections. */
    close(): Promise<void>;
}
