import { requestInit, type FetchLike } from "./clientConfig";
import { answerOptions, ListenError, send, serverErrorMessage } from "../utils/errors";
import type { ServerEndpoints } from "../utils/endpoints";

export interface ChannelAuthorization {
    auth: string;
    channel_data?: string;
    shared_secret?: string;
}

/**
 * `POST <server>/rest/pusher/auth` (form-urlencoded `socket_id`, `channel_name`) with the session's CSRF token and
 * cookies, the way pusher-js's own ajax transport sends it, but with explicit credentials so it also works when the
 * server is on another origin. Resolves to the signature; rejects with a ListenError that says why not.
 */
export async function requestChannelAuthorization(
    endpoints: ServerEndpoints,
    params: { socketId: string; channelName: string },
    fetchImpl: FetchLike,
    csrfToken: string | undefined
): Promise<ChannelAuthorization> {
    const url = endpoints.authUrl;
    const response = await send(
        fetchImpl,
        url,
        requestInit(endpoints, csrfToken, {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ socket_id: params.socketId, channel_name: params.channelName }).toString()
        }),
        reason =>
            new ListenError(
                "auth-unavailable",
                `Cannot reach the Notify & Listen server at ${url} to authorize listening (${reason}).`,
                { retryable: true }
            )
    );
    const options = answerOptions(response);
    const status = response.status;
    if (status === 200) {
        const data = (await response.json().catch(() => null)) as Partial<ChannelAuthorization> | null;
        if (typeof data?.auth === "string" && data.auth !== "") {
            return data as ChannelAuthorization;
        }
        throw new ListenError(
            "auth-refused",
            `The answer of ${url} is not a channel authorization ({ "auth": ... }). Check the Server URL.`,
            options
        );
    }
    const detail = await serverErrorMessage(response);
    const more = detail ? `: ${detail}` : "";
    throw status === 401
        ? new ListenError(
              "not-signed-in",
              "Cannot listen for notifications: you are not signed in (the server answered 401). Sign in again and reload the page.",
              options
          )
        : status === 403
          ? new ListenError(
                "forbidden",
                "Cannot listen for notifications: you may not listen to this object (the server answered 403).",
                options
            )
          : options.retryable
            ? new ListenError(
                  "auth-unavailable",
                  `The Notify & Listen server cannot authorize listening right now (HTTP ${status}${more}).`,
                  options
              )
            : new ListenError(
                  "auth-refused",
                  `The Notify & Listen server refused to authorize listening (HTTP ${status}${more}).`,
                  options
              );
}
