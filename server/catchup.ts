/**
 * Catch-up for widgets that were not listening for a while (docs/architecture-catchup.md):
 *
 * - `wrap(trigger)`: every notification the companion server triggers is stamped with `seq` and `epoch` and kept
 *   (./catchup-store.ts), in embedded, Pusher Channels and PUSHER_HOST mode alike: the server triggers them all.
 * - `authorize(channel, cursor)`: the `catchup` member of a channel authorization. With a cursor (a widget
 *   subscribing again) it lists the latest payload of each action the widget may have missed; that answer passed
 *   the Mendix access check, so nobody learns a payload of a channel they may not read.
 * - The gap between an authorization and the subscription it signs: a notification that reaches the broker after
 *   the answer was computed but before the widget's subscription is active reaches neither. So after a
 *   resubscription the channel's notifications of the next `RESEND_DELAY_MS` are sent once more, as
 *   `CATCH_UP_EVENT` with the same payload: widgets skip what they saw (same `seq`), old listeners ignore the event.
 */
import type { Logger } from "pino";
import { CATCH_UP_EVENT, type CatchupCursor } from "../protocol/index.js";
import { createCatchupStore, type CatchupLimits, type CatchupStats, type CatchupStore } from "./catchup-store.js";
import type { Trigger, TriggerItem } from "./trigger.js";

export { MAX_ACTIONS_PER_CHANNEL, REORDER_WINDOW_MICROS } from "./catchup-store.js";

/** How long after a resubscription's authorization its channel's notifications are sent again. */
export const RESEND_DELAY_MS = 1_000;
/** Most channels waiting for a resend at once (each a timer); beyond it a resubscription gets none. */
export const MAX_PENDING_RESENDS = 10_000;

export const CATCHUP_DEFAULTS: CatchupLimits = {
    ttlMs: 30 * 60_000,
    maxChannels: 50_000,
    maxBytes: 32 * 1024 * 1024
};

export interface CatchupOptions {
    limits: CatchupLimits;
    logger: Logger;
    /**
     * The store: default one in this process's memory; with REDIS_URL the cluster adapter's shared one
     * (./cluster/), whose `stamp` takes its position from Redis. Tests: the store's clocks and epoch.
     */
    store?: SharedCatchupStore;
    resendDelayMs?: number;
    /** Told the outcome of every catch-up a resubscribing widget asked for (the metrics' `catchupRun`). */
    onRun?: (result: "missed" | "nothing_missed" | "lost", replayed: number) => void;
}

/** A catch-up store whose `stamp` may wait (for the shared position in Redis); the rest answers at once. */
export interface SharedCatchupStore extends Omit<CatchupStore, "stamp"> {
    stamp(channel: string, action: string, data: string): StampResult | Promise<StampResult>;
}

export interface StampResult {
    seq: number;
    data: string;
}

export interface Catchup {
    readonly store: SharedCatchupStore;
    /** Stamps and keeps every notification `trigger` sends; resends go through `trigger` itself. */
    wrap(trigger: Trigger): Trigger;
    /** The `catchup` member of the authorization of `channel`, as JSON text. */
    authorize(channel: string, cursor?: CatchupCursor): string;
    stats(): CatchupStats & { pendingResends: number };
    /** Stops the sweep and the pending resends. */
    close(): void;
}

interface PendingResend {
    /** Resend what came after this position. */
    after: number;
    /** Until when (ms) a resubscription asked for resends; a later one than the timer's re-arms it. */
    until: number;
    timer: ReturnType<typeof setTimeout>;
}

export function createCatchup(options: CatchupOptions): Catchup {
    const { limits, logger } = options;
    const store = options.store ?? createCatchupStore(limits);
    const resendDelayMs = options.resendDelayMs ?? RESEND_DELAY_MS;
    const pending = new Map<string, PendingResend>();
    let inner: Trigger | undefined;

    let dropped = { channels: 0, bytes: 0 };
    const sweep = (): void => {
        store.sweep();
        const stats = store.stats();
        if (stats.droppedChannels > dropped.channels || stats.droppedForBytes > dropped.bytes) {
            logger.warn(
                {
                    droppedChannels: stats.droppedChannels - dropped.channels,
                    droppedForBytes: stats.droppedForBytes - dropped.bytes,
                    maxChannels: limits.maxChannels,
                    maxBytes: limits.maxBytes
                },
                "catch-up: memory bounds reached, older notifications dropped before their time (widgets that missed them are told they may have lost some); raise CATCHUP_MAX_CHANNELS or CATCHUP_MAX_BYTES"
            );
            dropped = { channels: stats.droppedChannels, bytes: stats.droppedForBytes };
        }
    };
    const sweeper = setInterval(sweep, Math.max(1_000, Math.min(60_000, limits.ttlMs / 4)));
    sweeper.unref();

    const resend = (channel: string, entry: PendingResend): void => {
        pending.delete(channel);
        const items: TriggerItem[] = store
            .since(channel, entry.after)
            .map(kept => ({ channel, action: CATCH_UP_EVENT, data: kept.data }));
        if (items.length > 0 && inner !== undefined) {
            inner.batch(items).then(
                () => logger.debug({ channel, resent: items.length }, "catch-up: resent notifications"),
                (error: unknown) => logger.warn({ channel, err: error }, "catch-up: resend failed")
            );
        }
        const left = entry.until - Date.now();
        if (left > 0) {
            // A later resubscription's window is still open: what comes from now on, until its end.
            schedule(channel, store.position(), left, entry.until);
        }
    };

    const schedule = (channel: string, after: number, delayMs: number, until: number): void => {
        const entry: PendingResend = { after, until, timer: setTimeout(() => resend(channel, entry), delayMs) };
        entry.timer.unref();
        pending.set(channel, entry);
    };

    const resubscribed = (channel: string, position: number): void => {
        const until = Date.now() + resendDelayMs;
        const waiting = pending.get(channel);
        if (waiting !== undefined) {
            waiting.after = Math.min(waiting.after, position);
            waiting.until = Math.max(waiting.until, until);
        } else if (pending.size < MAX_PENDING_RESENDS) {
            schedule(channel, position, resendDelayMs, until);
        }
    };

    return {
        store,
        wrap(trigger) {
            inner = trigger;
            const withData = (item: TriggerItem, stamp: StampResult): TriggerItem => {
                const stamped: TriggerItem = { channel: item.channel, action: item.action, data: stamp.data };
                if (item.socketId !== undefined) {
                    stamped.socketId = item.socketId;
                }
                return stamped;
            };
            /**
             * Stamped in order: a shared store sends the positions' requests in this order on one connection. The
             * memory store answers at once, so a batch waits for no promise per notification.
             */
            const stampAll = async (items: readonly TriggerItem[]): Promise<TriggerItem[]> => {
                const stamps = items.map(item => store.stamp(item.channel, item.action, item.data));
                const settled = stamps.some(stamp => stamp instanceof Promise) ? await Promise.all(stamps) : stamps;
                return items.map((item, index) => withData(item, settled[index] as StampResult));
            };
            return {
                kind: trigger.kind,
                one: async (item, source) =>
                    trigger.one(withData(item, await store.stamp(item.channel, item.action, item.data)), source),
                batch: async (items, source) => trigger.batch(await stampAll(items), source)
            };
        },
        authorize(channel, cursor) {
            const answer = store.answer(channel, cursor);
            let json = `{"epoch":"${answer.epoch}","seq":${answer.seq}`;
            if (answer.missed !== undefined) {
                // The kept payloads are this server's own JSON: spliced in as they were sent.
                json += `,"missed":[${answer.missed.map(kept => kept.data).join(",")}]`;
                resubscribed(channel, answer.seq);
            }
            if (answer.lost !== undefined) {
                json += `,"lost":"${answer.lost}"`;
            }
            if (cursor !== undefined) {
                const replayed = answer.missed?.length ?? 0;
                const result = answer.lost !== undefined ? "lost" : replayed > 0 ? "missed" : "nothing_missed";
                options.onRun?.(result, replayed);
            }
            return `${json}}`;
        },
        stats: () => ({ ...store.stats(), pendingResends: pending.size }),
        close() {
            clearInterval(sweeper);
            for (const entry of pending.values()) {
                clearTimeout(entry.timer);
            }
            pending.clear();
        }
    };
}
