import type { CatchupAnswer } from "../../protocol";
import type { ServerEndpoints } from "../utils/endpoints";
import { ListenError, type ListenErrorOptions } from "../utils/errors";
import { baseRequest, errorOptions, failureReason, serverErrorMessage, type FetchLike } from "./http";

/** The server's signature for one private channel, as pusher-js sends it to the broker. */
export interface ChannelAuthorization {
    auth: string;
    channel_data?: string;
    shared_secret?: string;
    /** What this server adds for the catch-up (docs/architecture-catchup.md); pusher-js ignores it. */
    catchup?: CatchupAnswer;
}

/**
 * `POST <server>/rest/pusher/auth` (form-urlencoded `socket_id`, `channel_name`, and `catchup`, the channel's cursor,
 * when it subscribes again) with the session's CSRF token and
 * cookies, the way pusher-js's own ajax transport sends it, but with explicit credentials so it also works when the
 * server is on another origin. Resolves to the signature; rejects with a ListenError that says why not.
 */
export async function requestChannelAuthorization(
    endpoints: ServerEndpoints,
    params: { socketId: string; channelName: string; catchup?: string },
    fetchImpl: FetchLike,
    csrfToken: string | undefined
): Promise<ChannelAuthorization> {
    const url = endpoints.authUrl;
    const request = baseRequest(endpoints, csrfToken);
    request.headers["Content-Type"] = "application/x-www-form-urlencoded";
    const body = new URLSearchParams({ socket_id: params.socketId, channel_name: params.channelName });
    if (params.catchup !== undefined) {
        body.set("catchup", params.catchup);
    }
    let response: Response;
    try {
        response = await fetchImpl(url, { ...request, method: "POST", body: body.toString() });
    } catch (error) {
        throw new ListenError(
            "auth-unavailable",
            `Cannot reach the Notify & Listen server at ${url} to authorize listening (${failureReason(error)}).`,
            { retryable: true }
        );
    }
    const options = errorOptions(response);
    if (response.status !== 200) {
        throw authorizationRefused(response.status, await serverErrorMessage(response), options);
    }
    let data: Partial<ChannelAuthorization> | null = null;
    try {
        data = (await response.json()) as Partial<ChannelAuthorization> | null;
    } catch {
        // Not JSON: reported below like any answer without a signature.
    }
    if (typeof data?.auth !== "string" || data.auth === "") {
        throw new ListenError(
            "auth-refused",
            `The answer of ${url} is not a channel authorization ({ "auth": ... }). Check the Server URL.`,
            options
        );
    }
    return data as ChannelAuthorization;
}

/** Why the server did not sign: not signed in (401), may not listen (403), temporarily unable (5xx, 429), or refused. */
function authorizationRefused(status: number, detail: string, options: ListenErrorOptions): ListenError {
    if (status === 401) {
        return new ListenError(
            "not-signed-in",
            "Cannot listen for notifications: you are not signed in (the server answered 401). Sign in again and reload the page.",
            options
        );
    }
    if (status === 403) {
        return new ListenError(
            "forbidden",
            "Cannot listen for notifications: you may not listen to this object (the server answered 403).",
            options
        );
    }
    const more = detail ? `: ${detail}` : "";
    if (options.retryable) {
        return new ListenError(
            "auth-unavailable",
            `The Notify & Listen server cannot authorize listening right now (HTTP ${status}${more}).`,
            options
        );
    }
    return new ListenError(
        "auth-refused",
        `The Notify & Listen server refused to authorize listening (HTTP ${status}${more}).`,
        options
    );
}
