import type { ServerEndpoints } from "../utils/endpoints";
import { ListenError } from "../utils/errors";
import { baseRequest, errorOptions, failureReason, serverErrorMessage, type FetchLike } from "./http";

/** Public client configuration served by `GET <server>/rest/pusher/key`. */
export interface ClientConfig {
    key: string;
    cluster: string;
    wsHost?: string;
    wsPort?: number;
    forceTLS?: boolean;
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
    const { key, cluster, wsHost, wsPort, forceTLS } = body as Record<string, unknown>;
    if (typeof key !== "string" || key === "") {
        throw invalid('"key" is missing');
    }
    const config: ClientConfig = {
        key,
        // pusher-js 8 requires a cluster even when wsHost is given; any string works then.
        cluster: typeof cluster === "string" && cluster !== "" ? cluster : "local"
    };
    if (wsHost !== undefined && wsHost !== null) {
        if (typeof wsHost !== "string" || wsHost === "") {
            throw invalid('"wsHost" must be a host name');
        }
        config.wsHost = wsHost;
    }
    if (wsPort !== undefined && wsPort !== null) {
        const port = typeof wsPort === "string" ? Number(wsPort) : wsPort;
        if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
            throw invalid('"wsPort" must be a port number');
        }
        config.wsPort = port;
    }
    if (forceTLS !== undefined && forceTLS !== null) {
        if (typeof forceTLS !== "boolean") {
            throw invalid('"forceTLS" must be true or false');
        }
        config.forceTLS = forceTLS;
    }
    return config;
}

/** Whether two client configurations open the same connection: same key, cluster, host, port and TLS. */
export function sameClientConfig(a: ClientConfig, b: ClientConfig): boolean {
    return (
        a.key === b.key &&
        a.cluster === b.cluster &&
        a.wsHost === b.wsHost &&
        a.wsPort === b.wsPort &&
        a.forceTLS === b.forceTLS
    );
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
        response = await fetchImpl(url, baseRequest(endpoints, csrfToken));
    } catch (error) {
        throw new ListenError(
            "key-unreachable",
            `Cannot reach the Notify & Listen server at ${url} (${failureReason(error)}). Check the Server URL and that the server is running.`,
            { retryable: true }
        );
    }
    if (response.status !== 200) {
        const detail = await serverErrorMessage(response);
        throw new ListenError(
            "key-status",
            `The Notify & Listen server answered HTTP ${response.status} to ${url}${detail ? ` (${detail})` : ""}; expected its client configuration. Check the Server URL.`,
            errorOptions(response)
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
