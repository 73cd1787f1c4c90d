/**
 * The Redis connections of one instance (./redis.ts): a command connection and a Pub/Sub subscriber, their
 * health, the scripts, and the bus every instance publishes to and listens on.
 *
 * - Commands never wait for a lost connection (no offline queue) and an unanswered command is never sent again
 *   after a reconnect: a publish is delivered at most once. Bus messages that are sent while Redis is unreachable
 *   wait in a bounded outbox (`OUTBOX_LIMIT`, the oldest dropped first) and go out once it is back.
 * - Both connections reconnect by themselves, every `RECONNECT_MAX_MS` at most.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { maskRedisUrl } from "../config.js";
import { redisKeys, SCRIPTS, type RedisKeys, type ScriptName } from "./redis-scripts.js";

/** Longest pause between two reconnect attempts. */
export const RECONNECT_MAX_MS = 1_000;
/** Bus messages kept while Redis is unreachable; beyond it the oldest are dropped (and counted in the log). */
export const OUTBOX_LIMIT = 10_000;

/** Something to send on the bus once Redis is reachable: `send` runs it (and may reject). */
export type OutboxEntry = () => Promise<unknown>;

export interface RedisLinkOptions {
    url: string;
    keyPrefix: string;
    instanceId: string;
    logger: Logger;
    /** Longest wait for Redis at start before giving up with `ClusterStartError`. */
    startTimeoutMs: number;
}

/** Redis was not reachable at start: the server does not start (the message names REDIS_URL, password masked). */
export class ClusterStartError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ClusterStartError";
    }
}

export interface RedisLink {
    readonly keys: RedisKeys;
    readonly instanceId: string;
    readonly logger: Logger;
    /** The command connection (never in subscriber mode). */
    readonly command: Redis;
    /** Both connections are ready. */
    up(): boolean;
    /** Runs one of `SCRIPTS`. */
    script(name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown>;
    /** Publishes a bus message now, or keeps it in the outbox while Redis is unreachable. */
    publish(message: BusMessage): void;
    /** Sends now, or keeps `entry` in the outbox while Redis is unreachable. */
    whenUp(entry: OutboxEntry): void;
    /** Runs the outbox (after a reconnect); returns how many were sent and how many had been dropped. */
    flush(): Promise<{ sent: number; dropped: number }>;
    onMessage(listener: (message: BusMessage) => void): void;
    /** Told every change of `up()`. */
    onChange(listener: (up: boolean) => void): void;
    close(): Promise<void>;
}

/** One bus message. `i`: the sending instance (nobody delivers its own messages twice); frames and/or kept. */
export interface BusMessage {
    i: string;
    /** Frames: [channel, frame, except socket id?]. */
    f?: Array<[string, string, string?]>;
    /** A kept catch-up notification: [channel, action, seq, sent at (ms), stamped payload], with its epoch `e`. */
    k?: [string, string, number, number, string];
    e?: string;
}

function clientOptions(name: string): RedisOptions {
    return {
        lazyConnect: true,
        connectionName: name,
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 2_000,
        enableAutoPipelining: true,
        retryStrategy: times => Math.min(times * 100, RECONNECT_MAX_MS)
    };
}

function describe(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** Resolves once `client` is ready, or rejects with the last error after `deadline`. */
function readyBy(client: Redis, deadline: number, logger: Logger, masked: string): Promise<void> {
    return new Promise((resolve, reject) => {
        let lastError = "no answer";
        let attempts = 0;
        const seconds = Math.max(1, Math.round((deadline - Date.now()) / 1000));
        const timer = setTimeout(
            () =>
                finish(
                    new ClusterStartError(
                        `Cannot reach Redis at ${masked} (REDIS_URL) within ${seconds} s: ${lastError}. Start Redis or fix REDIS_URL; without REDIS_URL the server runs as a single instance.`
                    )
                ),
            Math.max(0, deadline - Date.now())
        );
        const onError = (error: unknown): void => {
            attempts++;
            lastError = describe(error);
            if (attempts === 1 || attempts % 10 === 0) {
                logger.warn({ redis: masked, attempt: attempts }, `Redis not reachable yet (${lastError}); retrying`);
            }
        };
        const onReady = (): void => finish();
        const finish = (error?: Error): void => {
            clearTimeout(timer);
            client.off("error", onError);
            client.off("ready", onReady);
            if (error === undefined) {
                resolve();
            } else {
                reject(error);
            }
        };
        client.on("error", onError);
        client.once("ready", onReady);
        client.connect().catch(onError);
    });
}

export async function openRedisLink(options: RedisLinkOptions): Promise<RedisLink> {
    const { instanceId } = options;
    const logger = options.logger.child({ component: "redis" });
    const masked = maskRedisUrl(options.url);
    const keys = redisKeys(options.keyPrefix);
    const command = new Redis(options.url, clientOptions(`notifylisten:${instanceId}`));
    const subscriber = new Redis(options.url, clientOptions(`notifylisten:${instanceId}:bus`));
    for (const [name, definition] of Object.entries(SCRIPTS)) {
        command.defineCommand(name, definition);
    }
    const deadline = Date.now() + options.startTimeoutMs;
    try {
        await Promise.all([readyBy(command, deadline, logger, masked), readyBy(subscriber, deadline, logger, masked)]);
        await subscriber.subscribe(keys.bus);
    } catch (error) {
        command.disconnect();
        subscriber.disconnect();
        throw error instanceof ClusterStartError
            ? error
            : new ClusterStartError(`Redis at ${masked} (REDIS_URL) refused the start: ${describe(error)}`);
    }

    const messageListeners: Array<(message: BusMessage) => void> = [];
    const changeListeners: Array<(up: boolean) => void> = [];
    const outbox: OutboxEntry[] = [];
    let dropped = 0;
    let closing = false;
    let wasUp = true;
    let errorsLogged = 0;

    const up = (): boolean => command.status === "ready" && subscriber.status === "ready";
    const check = (): void => {
        const now = up();
        if (now !== wasUp && !closing) {
            wasUp = now;
            errorsLogged = 0;
            for (const listener of changeListeners) {
                listener(now);
            }
        }
    };
    for (const client of [command, subscriber]) {
        client.on("ready", check);
        client.on("close", check);
        client.on("end", check);
        client.on("reconnecting", check);
        client.on("error", (error: unknown) => {
            // One line per outage and connection is enough; the rest at debug.
            if (!closing && errorsLogged++ < 2) {
                logger.warn({ redis: masked, err: describe(error) }, "Redis connection error");
            } else {
                logger.debug({ err: describe(error) }, "Redis connection error");
            }
            check();
        });
    }
    // Every message starts with its sender's id (`{"i":"<id>"`): this instance's own are skipped unread.
    const own = JSON.stringify({ i: instanceId }).slice(0, -1);
    subscriber.on("message", (_channel: string, text: string) => {
        if (text.startsWith(own)) {
            return;
        }
        let message: BusMessage;
        try {
            message = JSON.parse(text) as BusMessage;
        } catch {
            logger.warn("ignored an unreadable message on the Redis bus");
            return;
        }
        if (message.i === instanceId) {
            return;
        }
        for (const listener of messageListeners) {
            listener(message);
        }
    });

    const whenUp = (entry: OutboxEntry): void => {
        if (up()) {
            // Sent once: a command lost with the connection is not sent again (no duplicates), only logged.
            entry().catch((error: unknown) => logger.debug({ err: describe(error) }, "Redis command lost"));
            return;
        }
        if (outbox.length >= OUTBOX_LIMIT) {
            outbox.shift();
            dropped++;
        }
        outbox.push(entry);
    };

    return {
        keys,
        instanceId,
        logger,
        command,
        up,
        script: (name, scriptKeys, args) => {
            const run = (
                command as unknown as Record<ScriptName, (...values: Array<string | number>) => Promise<unknown>>
            )[name];
            return run.call(command, ...scriptKeys, ...args);
        },
        publish: message => {
            const text = JSON.stringify(message);
            whenUp(() => command.publish(keys.bus, text));
        },
        whenUp,
        async flush() {
            const entries = outbox.splice(0, outbox.length);
            const lost = dropped;
            dropped = 0;
            let sent = 0;
            for (const entry of entries) {
                try {
                    await entry();
                    sent++;
                } catch (error) {
                    logger.debug({ err: describe(error) }, "Redis command lost");
                }
            }
            return { sent, dropped: lost };
        },
        onMessage: listener => {
            messageListeners.push(listener);
        },
        onChange: listener => {
            changeListeners.push(listener);
        },
        async close() {
            closing = true;
            for (const client of [command, subscriber]) {
                if (client.status === "ready") {
                    await client.quit().catch(() => client.disconnect());
                } else {
                    client.disconnect();
                }
            }
        }
    };
}
