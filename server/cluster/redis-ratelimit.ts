/**
 * Rate-limit counters of the Redis adapter (./redis.ts), an express-rate-limit `Store`: one counter per key and
 * window in Redis, so a client's requests count the same on every instance. The keys are the limiter's own (client
 * address or session, as without Redis). While Redis is unreachable each instance counts in its own memory.
 */
import { MemoryStore, type IncrementResponse, type Options, type Store } from "express-rate-limit";
import type { RedisLink } from "./redis-link.js";

export function redisRateLimitStore(link: RedisLink, name: string): Store {
    const memory = new MemoryStore();
    let windowMs = 60_000;
    const keyOf = (key: string): string => link.keys.rateLimit(name, key);
    return {
        localKeys: false,
        prefix: link.keys.rateLimit(name, ""),
        init(options: Options) {
            windowMs = options.windowMs;
            memory.init(options);
        },
        async increment(key): Promise<IncrementResponse> {
            if (link.up()) {
                try {
                    const [hits, ttl] = (await link.script("nlRateLimitHit", [keyOf(key)], [windowMs])) as [
                        number,
                        number
                    ];
                    return { totalHits: hits, resetTime: new Date(Date.now() + ttl) };
                } catch {
                    // counted here instead
                }
            }
            return memory.increment(key);
        },
        async decrement(key) {
            if (link.up()) {
                await link.command.decr(keyOf(key)).catch(() => undefined);
                return;
            }
            await memory.decrement(key);
        },
        async resetKey(key) {
            await memory.resetKey(key);
            if (link.up()) {
                await link.command.del(keyOf(key)).catch(() => undefined);
            }
        },
        shutdown: () => memory.shutdown()
    };
}
