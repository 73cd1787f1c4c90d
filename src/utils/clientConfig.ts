import { describeFailure, isRetryableStatus, ListenError, parseRetryAfter, serverErrorMessage } from "./errors";
import type { ServerEndpoints } from "./server";

/** Public client configuration served by `GET <server>/rest/pusher/key`. */
export interface ClientConfig {
    key: string;
    cluster: string;
    wsHost?: string;
    wsPort?: number;
    forceTLS?: boolean;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Request headers and credentials for the page's requests to the server (same origin or cross origin). */
export function requestInit(endpoints: ServerEndpoints, csrfToken: string | undefined): RequestInit {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (csrfToken !== undefined) {
        headers["X-Csrf-Token"] = csrfToken;
    }
    return { headers, credentials: endpoints.crossOrigin ? "include" : "same-origin" };
}

/** Checks and normalises the JSON of the key endpoint; throws a `key-invalid` ListenError when it is unusable. */
export function parseClientConfig(body: unknown, url: string): ClientConfig {
    const invalid = (why: string): ListenError =>
        new ListenError(
            "key-invalid",
            `The answer of ${url} is not a valid Notify & Listen client configuration (${why}). Check the Server URL.`
        );
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
        throw invalid("expected a JSON object");
    }
    const record = body as Record<string, unknown>;
    if (typeof record.key !== "string" || record.key.length === 0) {
        throw invalid('"key" is missing');
    }
    const config: ClientConfig = {
        key: record.key,
        // pusher-js 8 requires a cluster even when wsHost is given; any string works then.
        cluster: typeof record.cluster === "string" && record.cluster.length > 0 ? record.cluster : "local"
    };
    if (record.wsHost !== undefined && record.wsHost !== null) {
        if (typeof record.wsHost !== "string" || record.wsHost.length === 0) {
            throw invalid('"wsHost" must be a host name');
        }
        config.wsHost = record.wsHost;
    }
    if (record.wsPort !== undefined && record.wsPort !== null) {
        const port = typeof record.wsPort === "string" ? Number(record.wsPort) : record.wsPort;
        if (typeof port !== "number" || !Number.isInteger(port) || port <= 0 || port > 65535) {
            throw invalid('"wsPort" must be a port number');
        }
        config.wsPort = port;
    }
    if (record.forceTLS !== undefined && record.forceTLS !== null) {
        if (typeof record.forceTLS !== "boolean") {
            throw invalid('"forceTLS" must be true or false');
        }
        config.forceTLS = record.forceTLS;
    }
    return config;
}

/** `GET <server>/rest/pusher/key`; throws a ListenError (`key-unreachable`, `key-status`, `key-invalid`). */
export async function fetchClientConfig(
    endpoints: ServerEndpoints,
    fetchImpl: FetchLike,
    csrfToken: string | undefined
): Promise<ClientConfig> {
    const url = endpoints.keyUrl;
    let response: Response;
    try {
        response = await fetchImpl(url, { method: "GET", ...requestInit(endpoints, csrfToken) });
    } catch (error) {
        throw new ListenError(
            "key-unreachable",
            `Cannot reach the Notify & Listen server at ${url} (${describeFailure(error)}). Check the Server URL and that the server is running.`,
            { retryable: true }
        );
    }
    if (response.status !== 200) {
        const detail = await serverErrorMessage(response);
        throw new ListenError(
            "key-status",
            `The Notify & Listen server answered HTTP ${response.status} to ${url}${detail ? ` (${detail})` : ""}; expected its client configuration. Check the Server URL.`,
            {
                status: response.status,
                retryable: isRetryableStatus(response.status),
                retryAfterMs: parseRetryAfter(response.headers.get("Retry-After"))
            }
        );
    }
    let body: unknown;
    try {
        body = await response.json();
    } catch {
        throw new ListenError(
            "key-invalid",
            `The answer of ${url} is not JSON, so it is not a Notify & Listen client configuration. Check the Server URL.`
        );
    }
    return parseClientConfig(body, url);
}
