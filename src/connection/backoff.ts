import type { ListenError } from "../utils/errors";

/** First delay before a failed request (client configuration, channel authorization) is sent again. */
export const RETRY_BASE_MS = 1000;
/** The longest wait between two tries of a request, whatever the server's `Retry-After` says. */
export const RETRY_CAP_MS = 30_000;

/** Exponential backoff: `baseMs` doubled per attempt (from 0), capped at `capMs`. Defaults: 1 s, 2 s, 4 s … 30 s. */
export function backoffDelay(attempt: number, baseMs = RETRY_BASE_MS, capMs = RETRY_CAP_MS): number {
    return Math.min(capMs, baseMs * 2 ** attempt);
}

/**
 * Delay before sending a failed request again, after `attempt` failures in a row (from 0): the backoff, or the
 * server's `Retry-After` when that is longer, capped at 30 s.
 */
export function retryDelay(error: ListenError, attempt: number): number {
    const retryAfterMs = error.retryAfterMs ?? 0;
    return Math.min(RETRY_CAP_MS, Math.max(backoffDelay(attempt), retryAfterMs));
}
