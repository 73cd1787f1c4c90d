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
    // `declare`: the constructor assigns them. Without it the Mendix build (Babel for Safari 12) adds a helper that
    // defines each field as undefined first.
    declare readonly kind: ListenErrorKind;
    declare readonly status?: number;
    declare readonly retryable: boolean;
    declare readonly retryAfterMs?: number;

    constructor(kind: ListenErrorKind, message: string, options: ListenErrorOptions = {}) {
        super(message);
        this.kind = kind;
        this.status = options.status;
        this.retryable = options.retryable ?? false;
        this.retryAfterMs = options.retryAfterMs;
    }
}
