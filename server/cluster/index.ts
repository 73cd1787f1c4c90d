/**
 * Picks the cluster adapter: Redis with REDIS_URL (loaded only then), else the local one.
 */
import type { Logger } from "pino";
import type { RedisConfig } from "../config.js";
import type { ClusterAdapter } from "./adapter.js";
import { createLocalAdapter } from "./local.js";

export type { ClusterAdapter } from "./adapter.js";
export { ClusterUnavailableError } from "./adapter.js";

export interface ClusterOptions {
    redis?: RedisConfig;
    logger: Logger;
    /** Longest wait for Redis at start (default 10 s). */
    startTimeoutMs?: number;
}

/** Rejects with `ClusterStartError` when Redis cannot be reached at start. */
export async function createClusterAdapter(options: ClusterOptions): Promise<ClusterAdapter> {
    if (options.redis === undefined) {
        return createLocalAdapter();
    }
    const { startRedisAdapter } = await import("./redis.js");
    return startRedisAdapter({ redis: options.redis, logger: options.logger, startTimeoutMs: options.startTimeoutMs });
}

/** The error class of a failed start, without loading the Redis client for a single instance. */
export function isClusterStartError(error: unknown): error is Error {
    return error instanceof Error && error.name === "ClusterStartError";
}
