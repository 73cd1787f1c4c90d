/** Why a Listen widget cannot listen; `kind` lets code and tests tell the cases apart, `message` is for people. */
export type ListenErrorKind =
    | "configuration"
    | "key-unreachable"
    | "key-status"
    | "key-invalid"
    | "key-refused"
    | "connection-refused"
    | "not-signed-in"
    | "forbidden"
    | "auth-unavailable"
    | "auth-refused"
    | "subscription";

export interface ListenErrorOptions {
    /** HTTP status of the failed request, when there was an answer. */
    status?: number;
    /** Whether trying again later may help (network errors, 5xx, 429). */
    retryable?: boolean;
    /** Server's `Retry-After` in milliseconds, when it sent one. */
    retryAfterMs?: number;
}

export class ListenError extends Error {
    // `declare`: assigned in the constructor, so the build emits no class fields (and no helper for them).
    declare readonly kind: ListenErrorKind;
    declare readonly status?: number;
    declare readonly retryable: boolean;
    declare readonly retryAfterMs?: number;

    constructor(kind: ListenErrorKind, message: string, options: ListenErrorOptions = {}) {
        super(message);
        Object.assign(this, { kind, retryable: false, ...options });
    }
}

/**
 * Exponential backoff, the one used for every retry of the widget: `baseMs` doubled per attempt (from 0), capped at
 * `capMs`. Defaults: 1 s, 2 s, 4 s … 30 s.
 */
export function backoffDelay(attempt: number, baseMs = 1000, capMs = 30_000): number {
    return Math.min(capMs, baseMs * 2 ** attempt);
}

/** Delay before the next try: the server's Retry-After when longer than the backoff, capped at 30 s. */
export function retryDelay(error: ListenError, attempt: number): number {
    return Math.min(30_000, Math.max(backoffDelay(attempt), error.retryAfterMs ?? 0));
}

/** Status, retryability (5xx, 429) and `Retry-After` (seconds) of an HTTP answer, as ListenError options. */
export function answerOptions(response: Response): ListenErrorOptions {
    const status = response.status;
    // Seconds only (an HTTP date, like a missing header, gives NaN); `retryDelay` caps it.
    const seconds = Number(response.headers.get("Retry-After") || NaN);
    return {
        status,
        retryable: status >= 500 || status === 429,
        retryAfterMs: seconds >= 0 ? seconds * 1000 : undefined
    };
}

/** The server's own explanation: `error.message`, `error` or `message` of a JSON body, else a short text body. */
export async function serverErrorMessage(response: Response): Promise<string> {
    const text = (await response.text().catch(() => "")).trim();
    try {
        const body = JSON.parse(text) as { error?: { message?: unknown }; message?: unknown };
        const reason = body.error?.message ?? body.error ?? body.message;
        if (typeof reason === "string") {
            return reason;
        }
    } catch {
        // Not JSON: use the text itself when short.
    }
    return text.length <= 200 ? text : "";
}

/**
 * `fetch` that reports a network failure (no answer at all) as the ListenError `unreachable` makes of its reason.
 */
export async function send(
    fetchImpl: (input: string, init?: RequestInit) => Promise<Response>,
    url: string,
    init: RequestInit,
    unreachable: (reason: string) => ListenError
): Promise<Response> {
    try {
        return await fetchImpl(url, init);
    } catch (error) {
        throw unreachable(error instanceof Error ? error.message : String(error));
    }
}
