import { requestInit, type FetchLike } from "./clientConfig";
import { describeFailure, isRetryableStatus, ListenError, parseRetryAfter, serverErrorMessage } from "./errors";
import type { ServerEndpoints } from "./server";

export interface ChannelAuthorization {
    auth: string;
    channel_data?: string;
    shared_secret?: string;
}

export type AuthResult = { ok: true; data: ChannelAuthorization } | { ok: false; error: ListenError };

/**
 * `POST <server>/rest/pusher/auth` (form-urlencoded `socket_id`, `channel_name`) with the session's CSRF token and
 * cookies, the way pusher-js's own ajax transport sends it, but with explicit credentials so it also works when the
 * server is on another origin. Never throws.
 */
export async function requestChannelAuthorization(
    endpoints: ServerEndpoints,
    params: { socketId: string; channelName: string },
    fetchImpl: FetchLike,
    csrfToken: string | undefined
): Promise<AuthResult> {
    const init = requestInit(endpoints, csrfToken);
    const body = new URLSearchParams({ socket_id: params.socketId, channel_name: params.channelName });
    let response: Response;
    try {
        response = await fetchImpl(endpoints.authUrl, {
            ...init,
            method: "POST",
            headers: {
                ...(init.headers as Record<string, string>),
                "Content-Type": "application/x-www-form-urlencoded"
            },
            body: body.toString()
        });
    } catch (error) {
        return {
            ok: false,
            error: new ListenError(
                "auth-unavailable",
                `Cannot reach the Notify & Listen server at ${endpoints.authUrl} to authorize listening (${describeFailure(error)}).`,
                { retryable: true }
            )
        };
    }
    const status = response.status;
    if (status === 200) {
        try {
            const data = (await response.json()) as Partial<ChannelAuthorization> | null;
            if (data !== null && typeof data === "object" && typeof data.auth === "string" && data.auth !== "") {
                return { ok: true, data: data as ChannelAuthorization };
            }
        } catch {
            // Reported below.
        }
        return {
            ok: false,
            error: new ListenError(
                "auth-refused",
                `The answer of ${endpoints.authUrl} is not a channel authorization ({ "auth": ... }). Check the Server URL.`,
                { status }
            )
        };
    }
    const detail = await serverErrorMessage(response);
    if (status === 401) {
        return {
            ok: false,
            error: new ListenError(
                "not-signed-in",
                "Cannot listen for notifications: you are not signed in (the server answered 401). Sign in again and reload the page.",
                { status }
            )
        };
    }
    if (status === 403) {
        return {
            ok: false,
            error: new ListenError(
                "forbidden",
                "Cannot listen for notifications: you may not listen to this object (the server answered 403).",
                { status }
            )
        };
    }
    if (isRetryableStatus(status)) {
        return {
            ok: false,
            error: new ListenError(
                "auth-unavailable",
                `The Notify & Listen server cannot authorize listening right now (HTTP ${status}${detail ? `: ${detail}` : ""}).`,
                { status, retryable: true, retryAfterMs: parseRetryAfter(response.headers.get("Retry-After")) }
            )
        };
    }
    return {
        ok: false,
        error: new ListenError(
            "auth-refused",
            `The Notify & Listen server refused to authorize listening (HTTP ${status}${detail ? `: ${detail}` : ""}).`,
            { status }
        )
    };
}
