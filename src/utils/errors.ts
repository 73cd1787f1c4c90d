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

export class ListenError extends Error {
    readonly kind: ListenErrorKind;
    /** HTTP status of the failed request, when there was an answer. */
    readonly status?: number;
    /** Whether trying again later may help (network errors, 5xx, 429). */
    readonly retryable: boolean;
    /** Server's `Retry-After` in milliseconds, when it sent one. */
    readonly retryAfterMs?: number;

    constructor(
        kind: ListenErrorKind,
        message: string,
        options: { status?: number; retryable?: boolean; retryAfterMs?: number } = {}
    ) {
        super(message);
        this.name = "ListenError";
        this.kind = kind;
        this.status = options.status;
        this.retryable = options.retryable ?? false;
        this.retryAfterMs = options.retryAfterMs;
    }
}

/** Exponential backoff: 1 s, 2 s, 4 s … capped at 30 s (attempt counts from 0). */
export function backoffDelay(attempt: number, baseMs = 1000, capMs = 30_000): number {
    return Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
}

/** Delay before the next try: the server's Retry-After when longer than the backoff, capped at 30 s. */
export function retryDelay(error: ListenError, attempt: number): number {
    const backoff = backoffDelay(attempt);
    return error.retryAfterMs !== undefined ? Math.min(30_000, Math.max(backoff, error.retryAfterMs)) : backoff;
}

export function isRetryableStatus(status: number): boolean {
    return status >= 500 || status === 429;
}

export function parseRetryAfter(value: string | null): number | undefined {
    if (value === null) {
        return undefined;
    }
    const seconds = Number(value);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The server's own explanation from a JSON error body `{ error: { message } }`, if any. */
export async function serverErrorMessage(response: Response): Promise<string | undefined> {
    try {
        const text = await response.text();
        if (text.trim() === "") {
            return undefined;
        }
        try {
            const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
            if (typeof body.error === "string") {
                return body.error;
            }
            if (typeof body.error?.message === "string") {
                return body.error.message;
            }
            if (typeof body.message === "string") {
                return body.message;
            }
        } catch {
            // Not JSON: use the text itself when short.
        }
        return text.length <= 200 ? text.trim() : undefined;
    } catch {
        return undefined;
    }
}

export function describeFailure(error: unknown): string {
    if (error instanceof Error) {
        return error.message;
    }
    return String(error);
}
