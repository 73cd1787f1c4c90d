/**
 * The catch-up state of the companion server (docs/architecture-catchup.md): per channel, the position of its last
 * notification and the latest notification of each action, in bounded memory.
 *
 * - Positions (`seq`) come from one process-wide clock in microseconds that never goes back and never repeats
 *   (`max(now, last + 1)`): strictly increasing on every channel, also when a channel's state was dropped and comes
 *   back, and they tell nothing about other channels' traffic. `epoch` names this state; it is new per process.
 * - Bounds: at most `maxChannels` channels, least recently notified dropped first (a dropped channel's last position
 *   goes into one of `BUCKETS` floors shared by the channels hashing there, so a widget behind that floor is told it
 *   may have lost something); at most `maxBytes` of kept payloads (beyond it, the payloads of the least recently
 *   notified channels go, their positions stay); at most `MAX_ACTIONS_PER_CHANNEL` actions per channel; a payload is
 *   kept `ttlMs` after it was sent. A channel whose payloads are all gone keeps only its positions (`Skeleton`).
 * - Nothing here runs by itself except `sweep()`, which the owner calls on a timer.
 */
import { randomBytes } from "node:crypto";
import type { CatchupCursor, LostReason } from "../protocol/index.js";

/** Most actions whose latest payload one channel keeps; an older action's payload goes first. */
export const MAX_ACTIONS_PER_CHANNEL = 16;
/**
 * Payloads up to this much older than a widget's cursor are handed out again (the widget skips those it saw): with
 * Pusher Channels two notifications of concurrent requests may arrive in the other order, so a widget may have seen
 * a later one but not an earlier one when it lost the connection.
 */
export const REORDER_WINDOW_MICROS = 2_000_000;
/** Floors of dropped channels: 32 KB, and a widget is told "may have lost" wrongly only on a shared floor. */
export const BUCKETS = 4096;
/** What one kept payload costs beyond its characters (entry object, map slot), counted against `maxBytes`. */
export const ENTRY_OVERHEAD_BYTES = 96;

export interface CatchupLimits {
    /** How long a payload is kept after it was sent. */
    ttlMs: number;
    /** Most channels with catch-up state. */
    maxChannels: number;
    /** Most bytes of kept payloads (characters + `ENTRY_OVERHEAD_BYTES` per payload). */
    maxBytes: number;
}

export interface CatchupStoreOptions extends CatchupLimits {
    /** Wall clock in milliseconds (payload ages); default `Date.now`. */
    nowMs?: () => number;
    /** Clock of the positions, microseconds, never going back; default `performance`'s. */
    clockMicros?: () => number;
    /** Default: 12 random base64url characters. */
    epoch?: string;
}

/** One kept notification: its position, when it was sent, and its payload as sent (JSON, with `seq` and `epoch`). */
export interface KeptNotification {
    action: string;
    seq: number;
    at: number;
    data: string;
}

/** What a widget's authorization learns (the store's part of the `catchup` answer; payloads as JSON). */
export interface StoreAnswer {
    epoch: string;
    seq: number;
    /** Only when a cursor was given: payloads with `seq` after the cursor (less the reorder window), oldest first. */
    missed?: KeptNotification[];
    lost?: LostReason;
}

export interface CatchupStats {
    /** Channels with kept payloads. */
    channels: number;
    /** Channels that keep only their positions. */
    skeletons: number;
    /** Kept payloads. */
    notifications: number;
    /** Bytes counted against `maxBytes`. */
    bytes: number;
    /** Channels dropped for `maxChannels`, and channels whose payloads went for `maxBytes`, since the start. */
    droppedChannels: number;
    droppedForBytes: number;
}

export interface CatchupStore {
    readonly epoch: string;
    /** Gives the notification its position, stamps `seq` and `epoch` into `data` (a JSON object) and keeps it. */
    stamp(channel: string, action: string, data: string): { seq: number; data: string };
    /**
     * Keeps a notification stamped elsewhere (another instance of a cluster, ./cluster/): its `seq`, the time it
     * was sent and its stamped payload. The clock moves past `seq`, so later positions stay larger.
     */
    keep(channel: string, action: string, kept: { seq: number; at: number; data: string }): void;
    /** The catch-up of an authorization for `channel`: a first subscription without `cursor`, else a resubscription. */
    answer(channel: string, cursor?: CatchupCursor): StoreAnswer;
    /** The kept notifications of `channel` with a position after `after`, oldest first. */
    since(channel: string, after: number): KeptNotification[];
    /** The current position of the clock: every later notification has a larger `seq`. */
    position(): number;
    /** Drops payloads older than `ttlMs` (channels whose last notification is older become skeletons). */
    sweep(): void;
    stats(): CatchupStats;
}

interface Entry {
    seq: number;
    at: number;
    data: string;
    bytes: number;
}

/** A channel with kept payloads, by action (insertion order = least recently notified first). */
interface ChannelState {
    last: number;
    lastAt: number;
    /** Highest position whose payload is gone (expired, dropped) or unknown (a dropped channel's floor). */
    expired: number;
    actions: Map<string, Entry>;
}

/** A channel without kept payloads: its positions only. */
interface Skeleton {
    last: number;
    expired: number;
}

/** FNV-1a of the channel name, as a bucket index. */
function bucketOf(channel: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < channel.length; i++) {
        hash ^= channel.charCodeAt(i);
        hash = Math.imul(hash, 0x01000193);
    }
    return (hash >>> 0) % BUCKETS;
}

/** `data` (a JSON object) with `seq` and `epoch` added at the end; anything else stays as it is. */
export function stampPayload(data: string, seq: number, epoch: string): string {
    if (!data.startsWith("{") || !data.endsWith("}")) {
        return data;
    }
    const fields = `"seq":${seq},"epoch":"${epoch}"`;
    return data === "{}" ? `{${fields}}` : `${data.slice(0, -1)},${fields}}`;
}

const performanceMicros = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000);

export function createCatchupStore(options: CatchupStoreOptions): CatchupStore {
    const { ttlMs, maxChannels, maxBytes } = options;
    const nowMs = options.nowMs ?? Date.now;
    const clockMicros = options.clockMicros ?? performanceMicros;
    const epoch = options.epoch ?? randomBytes(9).toString("base64url");
    /** Channels with payloads, least recently notified first (a notification moves its channel to the end). */
    const live = new Map<string, ChannelState>();
    /** Channels without payloads, in the order they lost them (roughly least recently notified first). */
    const skeletons = new Map<string, Skeleton>();
    const floors = new Float64Array(BUCKETS);
    let lastSeq = 0;
    let bytes = 0;
    let notifications = 0;
    let droppedChannels = 0;
    let droppedForBytes = 0;

    const nextSeq = (): number => {
        lastSeq = Math.max(clockMicros(), lastSeq + 1);
        return lastSeq;
    };
    /** The position now; every notification stamped later gets a larger one (also within the same microsecond). */
    const current = (): number => {
        lastSeq = Math.max(clockMicros(), lastSeq);
        return lastSeq;
    };

    const forget = (state: ChannelState, action: string, entry: Entry): void => {
        state.actions.delete(action);
        state.expired = Math.max(state.expired, entry.seq);
        bytes -= entry.bytes;
        notifications--;
    };

    /** Drops the payloads older than the retention time. */
    const expire = (state: ChannelState): void => {
        const cutoff = nowMs() - ttlMs;
        for (const [action, entry] of state.actions) {
            if (entry.at < cutoff) {
                forget(state, action, entry);
            }
        }
    };

    /** Keeps only the positions of a channel. */
    const toSkeleton = (channel: string, state: ChannelState): void => {
        for (const [action, entry] of state.actions) {
            forget(state, action, entry);
        }
        live.delete(channel);
        skeletons.set(channel, { last: state.last, expired: state.expired });
    };

    /** Drops the least recently notified channel: its last position becomes (part of) its bucket's floor. */
    const dropOldest = (): void => {
        let dropped: [string, Skeleton] | undefined = skeletons.entries().next().value;
        if (dropped !== undefined) {
            skeletons.delete(dropped[0]);
        } else {
            const [channel, state] = live.entries().next().value!;
            for (const [action, entry] of state.actions) {
                forget(state, action, entry);
            }
            live.delete(channel);
            dropped = [channel, state];
        }
        const bucket = bucketOf(dropped[0]);
        floors[bucket] = Math.max(floors[bucket], dropped[1].last);
        droppedChannels++;
    };

    const enforceBounds = (): void => {
        while (live.size + skeletons.size > maxChannels) {
            dropOldest();
        }
        while (bytes > maxBytes && live.size > 1) {
            const [channel, state] = live.entries().next().value!;
            toSkeleton(channel, state);
            droppedForBytes++;
        }
    };

    /** Keeps `stamped` as the latest payload of `action` on `channel` (at position `seq`, sent at `at`). */
    const insert = (channel: string, action: string, seq: number, at: number, stamped: string): void => {
        let state = live.get(channel);
        if (state !== undefined) {
            live.delete(channel);
        } else {
            const skeleton = skeletons.get(channel);
            skeletons.delete(channel);
            // A channel seen for the first time may have been dropped before: its bucket's floor says up to where.
            const expired = skeleton?.expired ?? floors[bucketOf(channel)];
            state = { last: 0, lastAt: 0, expired, actions: new Map() };
        }
        state.last = Math.max(state.last, seq);
        state.lastAt = Math.max(state.lastAt, at);
        const previous = state.actions.get(action);
        if (previous !== undefined) {
            if (previous.seq > seq) {
                // A late copy of an older notification (another instance's, delivered after a newer one).
                live.set(channel, state);
                return;
            }
            // Superseded: its successor carries the news, so it is not "lost".
            state.actions.delete(action);
            bytes -= previous.bytes;
            notifications--;
        }
        const entry: Entry = { seq, at, data: stamped, bytes: stamped.length + action.length + ENTRY_OVERHEAD_BYTES };
        state.actions.set(action, entry);
        bytes += entry.bytes;
        notifications++;
        if (state.actions.size > MAX_ACTIONS_PER_CHANNEL) {
            const [oldestAction, oldest] = state.actions.entries().next().value!;
            forget(state, oldestAction, oldest);
        }
        live.set(channel, state);
        enforceBounds();
    };

    return {
        epoch,
        stamp(channel, action, data) {
            const seq = nextSeq();
            const stamped = stampPayload(data, seq, epoch);
            insert(channel, action, seq, nowMs(), stamped);
            return { seq, data: stamped };
        },

        keep(channel, action, kept) {
            lastSeq = Math.max(lastSeq, kept.seq);
            insert(channel, action, kept.seq, kept.at, kept.data);
        },

        answer(channel, cursor) {
            const state = live.get(channel);
            if (state !== undefined) {
                expire(state);
            }
            const known = state ?? skeletons.get(channel);
            // The clock, not the last notification's position: it says nothing about other channels.
            const seq = current();
            if (cursor === undefined) {
                return { epoch, seq };
            }
            const kept = [...(state?.actions ?? new Map<string, Entry>())]
                .map(([action, entry]): KeptNotification => ({
                    action,
                    seq: entry.seq,
                    at: entry.at,
                    data: entry.data
                }))
                .sort((a, b) => a.seq - b.seq);
            if (cursor.epoch !== epoch) {
                // Another state (before a restart): everything kept now is news, and what came before is unknown.
                return { epoch, seq, missed: kept, lost: "restart" };
            }
            const from = cursor.seq - REORDER_WINDOW_MICROS;
            const missed = kept.filter(entry => entry.seq > from);
            const gone = known?.expired ?? floors[bucketOf(channel)];
            return gone > cursor.seq ? { epoch, seq, missed, lost: "expired" } : { epoch, seq, missed };
        },

        since(channel, after) {
            const state = live.get(channel);
            if (state === undefined) {
                return [];
            }
            return [...state.actions]
                .filter(([, entry]) => entry.seq > after)
                .map(([action, entry]) => ({ action, seq: entry.seq, at: entry.at, data: entry.data }))
                .sort((a, b) => a.seq - b.seq);
        },

        position: current,

        sweep() {
            const cutoff = nowMs() - ttlMs;
            for (const [channel, state] of live) {
                if (state.lastAt >= cutoff) {
                    // Least recently notified first: every channel after this one is younger.
                    break;
                }
                toSkeleton(channel, state);
            }
        },

        stats: () => ({
            channels: live.size,
            skeletons: skeletons.size,
            notifications,
            bytes,
            droppedChannels,
            droppedForBytes
        })
    };
}
