/**
 * How the notify routes hand notifications to the broker: one `Trigger`, two implementations.
 *
 * - `createSdkTrigger`: Pusher Channels or a Pusher-compatible host (soketi, Reverb), through the `pusher` SDK
 *   (`trigger` for one notification, `triggerBatch` in chunks of 10), each call with bounded retries and backoff.
 * - `createEmbeddedTrigger`: the embedded broker in this process, through `Broker.publishAll` (the delivery path of
 *   the broker's HTTP events API), without HTTP, without retries, and without checking a second time what the
 *   notify routes' schema has checked.
 *
 * Why the embedded mode does not trigger through the SDK (the design had "the unmodified `pusher` SDK triggers
 * through it"; that stays true for external SDKs, which still use the broker's HTTP events API): the SDK path
 * meant, for every notification, MD5 + HMAC signing, a loopback HTTP request to a private listener of this same
 * process, raw-body parsing, signature verification and a JSON answer read back. `npm run bench`
 * (bench/RESULTS.md, 2026-11-24) measured it at ~2,079 µs server CPU per single notify against ~665 µs when
 * publishing in-process (batch: 111 -> 17 µs per notification), 478 -> 1,332 single notifies/s, and fan-out to
 * 1,000 sockets on 1,000 channels at 29 % -> 77 % of a bare `ws` server. In-process delivery cannot fail, so no
 * retries are needed; the partial-failure answer of a batch (`details.triggered`, `details.failed`) belongs to the
 * SDK path.
 */
import type Pusher from "pusher";
import type { Logger } from "pino";
import type { Broker } from "./broker/index.js";
import type { HubEvent } from "./broker/hub.js";
import { HttpError } from "./errors.js";
import { DEFAULT_RETRY_POLICY, describeRequestError, withRetries, type RetryPolicy } from "./pusher.js";

/** Pusher accepts at most 10 events per batch trigger. */
export const BATCH_CHUNK_SIZE = 10;

/** One notification as the broker sees it. */
export interface TriggerItem {
    channel: string;
    /** The event name. */
    action: string;
    /** The payload as JSON, exactly what listeners receive. */
    data: string;
    /** Connection left out of the delivery (the sender's own page). */
    socketId?: string;
}

/**
 * Where a trigger logs its retries: a request (`req.log`), read only when there is something to log, so a request
 * whose trigger succeeds at once never makes its child logger.
 */
export interface LogSource {
    readonly log: Logger;
}

export interface Trigger {
    readonly kind: "sdk" | "embedded";
    /** Triggers one notification; 502 `broker_error` (HttpError) when the broker refuses it or does not answer. */
    one(item: TriggerItem, source?: LogSource): Promise<void>;
    /**
     * Triggers in order and resolves with how many were triggered. On failure: 502 `broker_error` with
     * `details.triggered` (how many were sent) and `details.failed` (0-based indexes not sent).
     */
    batch(items: readonly TriggerItem[], source?: LogSource): Promise<number>;
}

function brokerError(reason: string, details: Record<string, unknown> = {}): HttpError {
    return new HttpError("broker_error", "The broker did not accept the notification.", { ...details, reason });
}

function indexesFrom(start: number, length: number): number[] {
    return Array.from({ length: length - start }, (_unused, offset) => start + offset);
}

async function drain(response: { text(): Promise<string> }): Promise<void> {
    await response.text().catch(() => "");
}

/** Logs each retry of a trigger call. */
function retryLogger(source: LogSource | undefined, what: Record<string, unknown>) {
    return (attempt: number, error: unknown, delayMs: number) =>
        source?.log.warn(
            { ...what, attempt, delayMs, reason: describeRequestError(error) },
            "broker call failed; retrying"
        );
}

/**
 * Through the pusher SDK: `trigger` for one notification, `triggerBatch` in chunks of 10 (in order, each chunk
 * with bounded retries). A batch stops at the first chunk that still fails.
 */
export function createSdkTrigger(pusher: Pusher, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Trigger {
    return {
        kind: "sdk",
        async one(item, source) {
            try {
                await withRetries(
                    async () =>
                        drain(
                            await pusher.trigger(
                                item.channel,
                                item.action,
                                item.data,
                                item.socketId === undefined ? undefined : { socket_id: item.socketId }
                            )
                        ),
                    policy,
                    retryLogger(source, { channel: item.channel })
                );
            } catch (error) {
                throw brokerError(describeRequestError(error), { attempts: policy.attempts });
            }
        },
        async batch(items, source) {
            let triggered = 0;
            for (let start = 0; start < items.length; start += BATCH_CHUNK_SIZE) {
                const chunk = items.slice(start, start + BATCH_CHUNK_SIZE);
                const events = chunk.map(item => {
                    const event: Pusher.BatchEvent = { channel: item.channel, name: item.action, data: item.data };
                    if (item.socketId !== undefined) {
                        event.socket_id = item.socketId;
                    }
                    return event;
                });
                try {
                    await withRetries(
                        async () => drain(await pusher.triggerBatch(events)),
                        policy,
                        retryLogger(source, { chunk: start / BATCH_CHUNK_SIZE })
                    );
                    triggered += chunk.length;
                } catch (error) {
                    throw brokerError(describeRequestError(error), {
                        triggered,
                        failed: indexesFrom(start, items.length),
                        attempts: policy.attempts
                    });
                }
            }
            return triggered;
        }
    };
}

function toEvent(item: TriggerItem): HubEvent {
    return { channels: [item.channel], name: item.action, data: item.data, socketId: item.socketId };
}

/**
 * In-process, through `Broker.publishAll`: the broker's delivery path without HTTP, without retries (delivery does
 * not fail per item), and without the HTTP events API's checks run a second time. Every item comes from the notify
 * routes, whose schema (routes/notify.ts) already holds it to rules at least as strict: a valid channel name, an
 * action of at most 200 characters that does not start with `pusher:`, a socket id like `123.456`, and a payload
 * that fits Pusher's 10 KB with the catch-up fields (the broker's own limit), or from catch-up resending those.
 */
export function createEmbeddedTrigger(broker: Pick<Broker, "publishAll">): Trigger {
    return {
        kind: "embedded",
        async one(item) {
            broker.publishAll([toEvent(item)]);
        },
        async batch(items) {
            broker.publishAll(items.map(toEvent));
            return items.length;
        }
    };
}
