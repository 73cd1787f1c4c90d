/**
 * The pusher SDK instance for the chosen broker (signing with `authorizeChannel`, triggering with
 * `trigger` / `triggerBatch`), a readable description of the broker, and the readiness probe for
 * external brokers.
 */
import Pusher from "pusher";
import type { BrokerConfig } from "./config.js";

/** Timeout of one trigger call to the broker (each retry has its own). */
export const TRIGGER_TIMEOUT_MS = 4_000;
/** Timeout of the readiness probe of an external broker. */
export const PROBE_TIMEOUT_MS = 2_000;
/** How long a readiness probe answer is reused. */
export const PROBE_CACHE_MS = 5_000;

export interface EmbeddedEndpoint {
    appId: string;
    key: string;
    secret: string;
    /**
     * Base URL of this server once it listens (`http://127.0.0.1:<port>`): its public port also serves the
     * embedded broker's HTTP events API. Without it the instance can only sign.
     */
    url?: string;
}

/**
 * SDK for an external broker (Pusher Channels or a Pusher-compatible host), or for the embedded broker. In
 * embedded mode the server signs channel authorizations with it but does not trigger through it (notify
 * publishes in-process, see trigger.ts); it points at the server's own URL so that it stays a working SDK.
 */
export function createPusher(broker: BrokerConfig, embedded?: EmbeddedEndpoint, timeout = TRIGGER_TIMEOUT_MS): Pusher {
    switch (broker.mode) {
        case "pusher-channels":
            return new Pusher({
                appId: broker.appId,
                key: broker.key,
                secret: broker.secret,
                cluster: broker.cluster,
                useTLS: true,
                timeout
            });
        case "pusher-host":
            return new Pusher({
                appId: broker.appId,
                key: broker.key,
                secret: broker.secret,
                host: broker.host,
                port: String(broker.port),
                useTLS: broker.useTLS,
                timeout
            });
        case "embedded": {
            if (embedded === undefined) {
                throw new Error("The embedded broker's credentials are needed to create its pusher SDK instance.");
            }
            const url = new URL(embedded.url ?? "http://127.0.0.1");
            return new Pusher({
                appId: embedded.appId,
                key: embedded.key,
                secret: embedded.secret,
                host: url.hostname,
                port: url.port === "" ? undefined : url.port,
                useTLS: false,
                timeout
            });
        }
    }
}

/** One line for the start log: which broker is in use. */
export function describeBroker(broker: BrokerConfig): string {
    switch (broker.mode) {
        case "embedded":
            return broker.credentials
                ? "embedded broker (credentials from BROKER_APP_ID/BROKER_KEY/BROKER_SECRET)"
                : "embedded broker (random credentials for this start)";
        case "pusher-channels":
            return `Pusher Channels cluster ${broker.cluster}`;
        case "pusher-host":
            return `Pusher-compatible host ${broker.useTLS ? "https" : "http"}://${broker.host}:${broker.port}`;
    }
}

/** Retries of trigger calls: bounded, with exponential backoff, only for errors worth another try. */
export interface RetryPolicy {
    /** Attempts in total (1 = no retry). */
    attempts: number;
    /** Delay before the second attempt; doubles for each further one, plus up to 25 % jitter. */
    baseDelayMs: number;
    /** Timeout of each attempt (the pusher SDK's request timeout). */
    timeoutMs: number;
}

/** Worst case with these defaults: 3 x 4 s + 0.25 s + 0.5 s (+ jitter), about 13 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 250, timeoutMs: TRIGGER_TIMEOUT_MS };

/**
 * Worth another try: the broker could not be reached, timed out, answered 5xx or 429. Not worth it: any other
 * 4xx (the request itself is refused) and errors that are not HTTP errors of the SDK.
 */
export function isRetryable(error: unknown): boolean {
    if (!(error instanceof Pusher.RequestError)) {
        return false;
    }
    const status = (error as { status?: unknown }).status;
    return typeof status !== "number" || status === 429 || status >= 500;
}

/** Runs `attempt` up to `policy.attempts` times while it fails with a retryable error; rethrows the last error. */
export async function withRetries<T>(
    attempt: () => Promise<T>,
    policy: RetryPolicy,
    onRetry?: (failedAttempt: number, error: unknown, delayMs: number) => void
): Promise<T> {
    for (let done = 1; ; done++) {
        try {
            return await attempt();
        } catch (error) {
            if (done >= policy.attempts || !isRetryable(error)) {
                throw error;
            }
            const delayMs = Math.round(policy.baseDelayMs * 2 ** (done - 1) * (1 + Math.random() * 0.25));
            onRetry?.(done, error, delayMs);
            await new Promise(resolve => setTimeout(resolve, delayMs));
        }
    }
}

export interface ProbeResult {
    ok: boolean;
    reason?: string;
}

/**
 * Readiness probe of an external broker: a signed `GET /apps/<id>/channels` with a short timeout;
 * the answer is cached for `cacheMs`, concurrent callers share one request.
 */
export function createBrokerProbe(
    pusher: Pusher,
    cacheMs = PROBE_CACHE_MS,
    now: () => number = Date.now
): () => Promise<ProbeResult> {
    let cached: { at: number; result: ProbeResult } | undefined;
    let pending: Promise<ProbeResult> | undefined;
    return () => {
        if (cached !== undefined && now() - cached.at < cacheMs) {
            return Promise.resolve(cached.result);
        }
        if (pending === undefined) {
            pending = pusher
                .get({ path: "/channels" })
                .then(
                    async response => {
                        await response.text().catch(() => "");
                        return { ok: true };
                    },
                    (error: unknown) => ({ ok: false, reason: describeRequestError(error) })
                )
                .then(result => {
                    cached = { at: now(), result };
                    pending = undefined;
                    return result;
                });
        }
        return pending;
    };
}

/** The pusher SDK's RequestError carries the signed URL; keep only status and message. */
export function describeRequestError(error: unknown): string {
    if (error !== null && typeof error === "object") {
        const record = error as { status?: unknown; message?: unknown; error?: unknown };
        const cause =
            record.error instanceof Error
                ? record.error.name === "AbortError"
                    ? "timeout"
                    : record.error.message
                : undefined;
        const status = typeof record.status === "number" ? `status ${record.status}` : undefined;
        const message = typeof record.message === "string" ? record.message : "request failed";
        return [message, status, cause].filter(Boolean).join("; ");
    }
    return String(error);
}
