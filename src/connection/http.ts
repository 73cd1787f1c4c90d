import type { ServerEndpoints } from "../utils/endpoints";
import type { ListenErrorOptions } from "../utils/errors";

/** `fetch` as the connection calls it; tests pass a fake. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Headers and credentials of every request the page sends to the server. */
export interface BaseRequest {
    headers: Record<string, string>;
    credentials: RequestCredentials;
}

/**
 * JSON accepted, the session's CSRF token in `X-Csrf-Token`, and the session cookie: `same-origin`, or `include`
 * when the server is on another origin (only then does the browser send cookies there).
 */
export function baseRequest(endpoints: ServerEndpoints, csrfToken: string | undefined): BaseRequest {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (csrfToken !== undefined) {
        headers["X-Csrf-Token"] = csrfToken;
    }
    return { headers, credentials: endpoints.crossOrigin ? "include" : "same-origin" };
}

/** Why a request got no answer at all (the network error's message), for the error message. */
export function failureReason(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** Status, retryability (5xx, 429) and `Retry-After` of a failed HTTP answer, as ListenError options. */
export function errorOptions(response: Response): ListenErrorOptions {
    const status = response.status;
    return {
        status,
        retryable: status >= 500 || status === 429,
        retryAfterMs: retryAfterMs(response.headers.get("Retry-After"))
    };
}

/** A `Retry-After` header in milliseconds. Seconds only: an HTTP date, like a missing header, gives undefined. */
function retryAfterMs(header: string | null): number | undefined {
    if (header === null || header === "") {
        return undefined;
    }
    const seconds = Number(header);
    return seconds >= 0 ? seconds * 1000 : undefined;
}

/** The server's own explanation: `error.message`, `error` or `message` of a JSON body, else a short text body. */
export async function serverErrorMessage(response: Response): Promise<string> {
    let text: string;
    try {
        text = (await response.text()).trim();
    } catch {
        return "";
    }
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
