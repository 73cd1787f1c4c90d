/**
 * The catch-up store of the Redis adapter (./redis.ts): positions, epoch and the latest payload per (channel,
 * action) are shared by every instance, so a widget that comes back through another instance is told what it
 * missed.
 *
 * - Position and epoch: one script (`nlNextPosition`) gives the next `seq` from Redis's clock, strictly growing over
 *   every instance, and the epoch kept in Redis; when Redis lost its data the first instance to notice stores a new
 *   epoch, and widgets of the old one are told `restart`.
 * - Payloads: in a hash per channel (`catchup:ch:<channel>`, action -> kept entry) that expires with the retention
 *   time, and in every instance's own bounded store (../catchup-store.ts), which answers authorizations at once:
 *   each kept notification is published on the bus and every instance keeps it too. A new instance loads the
 *   hashes at start.
 * - While Redis is unreachable the instance stamps with its own clock (plus the difference to Redis's, measured
 *   on every stamp) in the same epoch, and the kept entries wait in the outbox.
 */
import { randomBytes } from "node:crypto";
import { createCatchupStore, stampPayload, type CatchupLimits, type CatchupStore } from "../catchup-store.js";
import type { SharedCatchupStore } from "../catchup.js";
import type { BusMessage, RedisLink } from "./redis-link.js";

/** Hashes read per round trip when an instance loads the shared catch-up state at start. */
const LOAD_BATCH = 500;

interface KeptEntry {
    s: number;
    t: number;
    d: string;
}

const localMicros = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000);
const newEpoch = (): string => randomBytes(9).toString("base64url");

export interface RedisCatchupStore extends SharedCatchupStore {
    /** Reads the epoch in Redis again (after a reconnect): another one drops this instance's copy. */
    checkEpoch(): Promise<void>;
}

export async function createRedisCatchupStore(link: RedisLink, limits: CatchupLimits): Promise<RedisCatchupStore> {
    const { keys, command, logger } = link;
    /** Redis's clock minus this process's, in microseconds (so local positions stay comparable). */
    let skew = 0;
    const clockMicros = (): number => localMicros() + skew;
    const storeOf = (epoch: string): CatchupStore => createCatchupStore({ ...limits, epoch, clockMicros });

    await command.set(keys.epoch, newEpoch(), "NX");
    let store = storeOf((await command.get(keys.epoch)) ?? newEpoch());
    await load(link, store, limits.maxChannels);

    const adopt = (epoch: string): void => {
        if (epoch !== store.epoch) {
            logger.warn(
                { epoch, previous: store.epoch },
                "catch-up: Redis lost the shared catch-up state (new epoch); widgets that come back are told they may have lost notifications"
            );
            store = storeOf(epoch);
        }
    };

    /** Keeps it in Redis and tells the other instances (now, or from the outbox once Redis is back). */
    const share = (channel: string, action: string, seq: number, at: number, data: string): void => {
        const epoch = store.epoch;
        const message: BusMessage = { i: link.instanceId, k: [channel, action, seq, at, data], e: epoch };
        const entry: KeptEntry = { s: seq, t: at, d: data };
        link.whenUp(async () => {
            if (epoch !== store.epoch) {
                return; // stamped before Redis lost its data: the new epoch does not know it
            }
            await link.script(
                "nlKeep",
                [keys.catchupChannel(channel), keys.seq],
                [action, JSON.stringify(entry), limits.ttlMs, keys.bus, JSON.stringify(message), seq]
            );
        });
    };

    link.onMessage(message => {
        if (message.k === undefined || message.e === undefined) {
            return;
        }
        const [channel, action, seq, at, data] = message.k;
        if (message.e !== store.epoch) {
            // Another instance saw a new epoch first: make sure it is Redis's before dropping this copy.
            void command.get(keys.epoch).then(
                epoch => {
                    if (epoch === message.e) {
                        adopt(epoch);
                        store.keep(channel, action, { seq, at, data });
                    }
                },
                () => undefined
            );
            return;
        }
        store.keep(channel, action, { seq, at, data });
    });

    return {
        get epoch() {
            return store.epoch;
        },
        async stamp(channel, action, data) {
            let position: { seq: number; epoch: string } | undefined;
            if (link.up()) {
                try {
                    const [seq, epoch] = (await link.script(
                        "nlNextPosition",
                        [keys.seq, keys.epoch],
                        [newEpoch()]
                    )) as [string, string];
                    position = { seq: Number(seq), epoch };
                } catch (error) {
                    logger.debug(
                        { err: error instanceof Error ? error.message : String(error) },
                        "Redis: stamp failed"
                    );
                }
            }
            if (position === undefined) {
                // Redis unreachable: this instance's clock, in the same epoch; shared once Redis is back.
                const stamped = store.stamp(channel, action, data);
                const kept = store.since(channel, stamped.seq - 1).find(entry => entry.seq === stamped.seq);
                share(channel, action, stamped.seq, kept?.at ?? Date.now(), stamped.data);
                return stamped;
            }
            adopt(position.epoch);
            skew = position.seq - localMicros();
            const at = Date.now();
            const stamped = stampPayload(data, position.seq, position.epoch);
            store.keep(channel, action, { seq: position.seq, at, data: stamped });
            share(channel, action, position.seq, at, stamped);
            return { seq: position.seq, data: stamped };
        },
        keep: (channel, action, kept) => store.keep(channel, action, kept),
        answer: (channel, cursor) => store.answer(channel, cursor),
        since: (channel, after) => store.since(channel, after),
        position: () => store.position(),
        sweep: () => store.sweep(),
        stats: () => store.stats(),
        async checkEpoch() {
            await command.set(keys.epoch, newEpoch(), "NX");
            const epoch = await command.get(keys.epoch);
            if (epoch !== null) {
                adopt(epoch);
            }
        }
    };
}

/** Loads the shared payloads into `store` (a new instance), at most `maxChannels` channels, oldest first. */
async function load(link: RedisLink, store: CatchupStore, maxChannels: number): Promise<void> {
    const { command, keys } = link;
    const entries: Array<{ channel: string; action: string; entry: KeptEntry }> = [];
    let cursor = "0";
    let channels = 0;
    do {
        const [next, found] = await command.scan(cursor, "MATCH", keys.catchupPattern, "COUNT", LOAD_BATCH);
        cursor = next;
        const batch = found.slice(0, Math.max(0, maxChannels - channels));
        channels += batch.length;
        const pipeline = command.pipeline();
        for (const key of batch) {
            pipeline.hgetall(key);
        }
        const results = (await pipeline.exec()) ?? [];
        results.forEach(([error, value], index) => {
            if (error !== null) {
                return;
            }
            const channel = batch[index].slice(keys.catchupChannel("").length);
            for (const [action, text] of Object.entries(value as Record<string, string>)) {
                try {
                    entries.push({ channel, action, entry: JSON.parse(text) as KeptEntry });
                } catch {
                    // an unreadable entry is skipped: the widget is told what the others allow
                }
            }
        });
    } while (cursor !== "0" && channels < maxChannels);
    entries.sort((a, b) => a.entry.s - b.entry.s);
    for (const { channel, action, entry } of entries) {
        store.keep(channel, action, { seq: entry.s, at: entry.t, data: entry.d });
    }
}
