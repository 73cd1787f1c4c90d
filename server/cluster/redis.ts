/**
 * The Redis cluster adapter: every instance with the same REDIS_URL (and REDIS_KEY_PREFIX) shares, through Redis,
 * the fan-out (./redis-broker.ts), presence members and channel counts, the catch-up state (./redis-catchup.ts)
 * and the rate-limit counters (./redis-ratelimit.ts). The only place that talks to Redis, with ./redis-link.ts.
 *
 * Exactly once: an instance delivers to its own sockets at once and publishes the frames on the bus; every other
 * instance delivers what it receives to its sockets; nobody delivers its own messages from the bus (instance id).
 *
 * Liveness: each instance refreshes `instance:<id>` (TTL `HEARTBEAT_TTL_MS`) every `HEARTBEAT_MS` and, at the same
 * time, buries instances whose key expired: their presence members and channel counts are removed, and
 * `member_removed` goes out for users no instance holds any more. After Redis was lost (or this instance was
 * buried meanwhile), the instance registers again, writes its counts and members again (announcing users the
 * others did not know), checks the catch-up epoch, then sends its outbox.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RedisConfig } from "../config.js";
import { maskRedisUrl } from "../config.js";
import type { BrokerCluster, ClusterAdapter, LocalBrokerView } from "./adapter.js";
import { redisBrokerCluster, type RedisBrokerCluster } from "./redis-broker.js";
import { createRedisCatchupStore, type RedisCatchupStore } from "./redis-catchup.js";
import { openRedisLink } from "./redis-link.js";
import { redisRateLimitStore } from "./redis-ratelimit.js";

export { ClusterStartError } from "./redis-link.js";

/** How often an instance says it is alive, and buries the ones that stopped. */
export const HEARTBEAT_MS = 2_000;
/** An instance that has not said so for this long is dead: its members and counts are removed. */
export const HEARTBEAT_TTL_MS = 6_000;
/** How often a recovering instance looks whether the others are back. */
const PEER_POLL_MS = 100;
/** Default longest wait for Redis at start. */
export const START_TIMEOUT_MS = 10_000;

export interface RedisAdapterOptions {
    redis: RedisConfig;
    logger: Logger;
    startTimeoutMs?: number;
}

/** Pairs of a flat [a, b, a, b…] list. */
function pairs(flat: readonly string[]): Array<[string, string]> {
    const result: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
        result.push([flat[i], flat[i + 1]]);
    }
    return result;
}

export async function startRedisAdapter(options: RedisAdapterOptions): Promise<ClusterAdapter> {
    const instanceId = `${hostname().slice(0, 40)}-${randomBytes(4).toString("hex")}`;
    const link = await openRedisLink({
        url: options.redis.url,
        keyPrefix: options.redis.keyPrefix,
        instanceId,
        logger: options.logger,
        startTimeoutMs: options.startTimeoutMs ?? START_TIMEOUT_MS
    });
    const { keys, command, logger } = link;
    const masked = maskRedisUrl(options.redis.url);
    let view: LocalBrokerView | undefined;
    let brokerPart: RedisBrokerCluster | undefined;
    let catchup: RedisCatchupStore | undefined;
    let downSince: number | undefined;
    let resyncing = false;
    /** The other instances seen alive at the last heartbeat: after an outage the outbox waits for them. */
    let peers: string[] = [];
    const healthListeners: Array<(up: boolean) => void> = [];

    const register = async (): Promise<void> => {
        await command.sadd(keys.instances, instanceId);
        await command.set(keys.heartbeat(instanceId), String(Date.now()), "PX", HEARTBEAT_TTL_MS);
    };

    /** Writes this instance's counts and members again and sends what waited. */
    const resync = async (): Promise<void> => {
        if (resyncing) {
            return;
        }
        resyncing = true;
        try {
            await register();
            if (view !== undefined) {
                const counts = keys.instanceChannels(instanceId);
                const pipeline = command.pipeline().del(counts);
                for (const channel of view.channelNames()) {
                    pipeline.hset(counts, channel, view.subscriberCount(channel));
                }
                await pipeline.exec();
                const left = brokerPart?.takeLeftWhileDown() ?? [];
                const args: string[] = [options.redis.keyPrefix, String(left.length), ...left];
                const infos = new Map<string, unknown>();
                for (const { channel, member } of view.presenceMemberships()) {
                    args.push(channel, member.userId, JSON.stringify(member.userInfo ?? null));
                    infos.set(`${channel}\n${member.userId}`, member.userInfo);
                }
                const [back, gone] = (await link.script("nlResync", [keys.instancePresence(instanceId)], args)) as [
                    string[],
                    string[]
                ];
                view.membersBack(
                    pairs(back).map(([channel, userId]) => ({
                        channel,
                        member: { userId, userInfo: infos.get(`${channel}\n${userId}`) }
                    }))
                );
                view.membersGone(
                    pairs(gone).map(([channel, userId]) => ({ channel, userId })),
                    "others"
                );
            }
            await catchup?.checkEpoch();
            // Pub/Sub keeps nothing for a subscriber that is not back yet: wait (bounded) until the others are.
            await peersBack(peers);
            const { sent, dropped } = await link.flush();
            const downMs = downSince === undefined ? undefined : Date.now() - downSince;
            downSince = undefined;
            logger.warn(
                { redis: masked, downMs, sent, dropped },
                `Redis is reachable again: fan-out over every instance resumed (${sent} waiting messages sent${dropped > 0 ? `, ${dropped} dropped beyond the outbox limit` : ""})`
            );
        } catch (error) {
            logger.warn(
                { err: error instanceof Error ? error.message : String(error) },
                "Redis: resync failed; retrying"
            );
        } finally {
            resyncing = false;
        }
    };

    /** Resolves once every one of `ids` has registered again (or after `HEARTBEAT_TTL_MS`: it may be dead). */
    const peersBack = async (ids: readonly string[]): Promise<void> => {
        const deadline = Date.now() + HEARTBEAT_TTL_MS;
        while (ids.length > 0 && Date.now() < deadline) {
            const alive = await Promise.all(ids.map(id => command.exists(keys.heartbeat(id))));
            if (alive.every(found => found === 1)) {
                return;
            }
            await new Promise(resolve => setTimeout(resolve, PEER_POLL_MS));
        }
    };

    link.onChange(up => {
        for (const listener of healthListeners) {
            listener(up);
        }
        if (up) {
            void resync();
        } else {
            downSince = Date.now();
            logger.warn(
                { redis: masked },
                "Redis connection lost: /readyz answers 503; this instance keeps serving its own sockets, notifications for the other instances wait (bounded) until Redis is back"
            );
        }
    });

    /** Says this instance is alive and buries dead ones. */
    const beat = async (): Promise<void> => {
        if (!link.up() || resyncing) {
            return;
        }
        const previous = await command.set(
            keys.heartbeat(instanceId),
            String(Date.now()),
            "PX",
            HEARTBEAT_TTL_MS,
            "GET"
        );
        if (previous === null) {
            // Buried while Redis could not hear from us (or Redis lost its data): register everything again.
            logger.warn("Redis: this instance was taken for dead (or Redis lost its data); registering again");
            await resync();
            return;
        }
        const others = (await command.smembers(keys.instances)).filter(id => id !== instanceId);
        const alive = await Promise.all(others.map(id => command.exists(keys.heartbeat(id))));
        peers = others.filter((_id, index) => alive[index] === 1);
        for (const [index, id] of others.entries()) {
            if (alive[index] === 1) {
                continue;
            }
            const gone = (await link.script(
                "nlBury",
                [keys.instancePresence(id), keys.instanceChannels(id), keys.instances],
                [options.redis.keyPrefix, id]
            )) as string[];
            logger.warn(
                { instance: id, membersGone: gone.length / 2 },
                "Redis: an instance stopped answering; removed its members and counts"
            );
            view?.membersGone(
                pairs(gone).map(([channel, userId]) => ({ channel, userId })),
                "everywhere"
            );
        }
    };
    const heartbeat = setInterval(() => {
        beat().catch((error: unknown) =>
            logger.debug({ err: error instanceof Error ? error.message : String(error) }, "Redis: heartbeat failed")
        );
    }, HEARTBEAT_MS);
    heartbeat.unref();
    await register();
    logger.info({ redis: masked, instance: instanceId }, "sharing state with the other instances through Redis");

    return {
        kind: "redis",
        instanceId,
        attachBroker(localView): BrokerCluster {
            view = localView;
            brokerPart = redisBrokerCluster(link, localView);
            return brokerPart;
        },
        async createCatchupStore(limits) {
            catchup = await createRedisCatchupStore(link, limits);
            return catchup;
        },
        rateLimitStore: name => redisRateLimitStore(link, name),
        health: () => (link.up() ? { ok: true } : { ok: false, reason: `Redis at ${masked} is unreachable` }),
        onHealth: listener => {
            healthListeners.push(listener);
        },
        async close() {
            clearInterval(heartbeat);
            if (link.up()) {
                // Leaving on purpose: the others need not wait for the heartbeat to expire.
                await link
                    .script(
                        "nlBury",
                        [keys.instancePresence(instanceId), keys.instanceChannels(instanceId), keys.instances],
                        [options.redis.keyPrefix, instanceId]
                    )
                    .catch(() => undefined);
                await command.del(keys.heartbeat(instanceId)).catch(() => undefined);
            }
            await link.close();
        }
    };
}
