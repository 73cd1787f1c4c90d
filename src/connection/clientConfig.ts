import { answerOptions, ListenError, send, serverErrorMessage } from "../utils/errors";
import type { ServerEndpoints } from "../utils/endpoints";

/** Public client configuration served by `GET <server>/rest/pusher/key`. */
export interface ClientConfig {
    key: string;
    cluster: string;
    wsHost?: string;
    wsPort?: number;
    forceTLS?: boolean;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Request options for the page's requests to the server: JSON accepted, the session's CSRF token, cookies (`include`
 * only when the server is on another origin), plus `extra` (method, body, more headers).
 */
export function requestInit(
    endpoints: ServerEndpoints,
    csrfToken: string | undefined,
    extra: RequestInit & { headers?: Record<string, string> } = {}
): RequestInit {
    return {
        ...extra,
        headers: {
            Accept: "application/json",
            ...(csrfToken !== undefined && { "X-Csrf-Token": csrfToken }),
            ...extra.headers
        },
        credentials: endpoints.crossOrigin ? "include" : "same-origin"
    };
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
    const port = typeof wsPort === "string" ? Number(wsPort) : wsPort;
    if (typeof key !== "string" || key === "") {
        throw invalid('"key" is missing');
    }
    if (wsHost != null && (typeof wsHost !== "string" || wsHost === "")) {
        throw invalid('"wsHost" must be a host name');
    }
    if (port != null && !(Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536)) {
        throw invalid('"wsPort" must be a port number');
    }
    if (forceTLS != null && typeof forceTLS !== "boolean") {
        throw invalid('"forceTLS" must be true or false');
    }
    return {
        key,
        // pusher-js 8 requires a cluster even when wsHost is given; any string works then.
        cluster: typeof cluster === "string" && cluster !== "" ? cluster : "local",
        wsHost: wsHost ?? undefined,
        wsPort: (port as number | null | undefined) ?? undefined,
        forceTLS: forceTLS ?? undefined
    } as ClientConfig;
}

/** `GET <server>/rest/pusher/key`; throws a ListenError (`key-unreachable`, `key-status`, `key-invalid`). */
export async function fetchClientConfig(
    endpoints: ServerEndpoints,
    fetchImpl: FetchLike,
    csrfToken: string | undefined
): Promise<ClientConfig> {
    const url = endpoints.keyUrl;
    const response = await send(
        fetchImpl,
        url,
        requestInit(endpoints, csrfToken),
        reason =>
            new ListenError(
                "key-unreachable",
                `Cannot reach the Notify & Listen server at ${url} (${reason}). Check the Server URL and that the server is running.`,
                { retryable: true }
            )
    );
    const status = response.status;
    if (status !== 200) {
        const detail = await serverErrorMessage(response);
        throw new ListenError(
            "key-status",
            `The Notify & Listen server answered HTTP ${status} to ${url}${detail ? ` (${detail})` : ""}; expected its client configuration. Check the Server URL.`,
            answerOptions(response)
        );
    }
    const body: unknown = await response.json().catch(() => {
        throw new ListenError(
            "key-invalid",
            `The answer of ${url} is not JSON, so it is not a Notify & Listen client configuration. Check the Server URL.`
        );
    });
    return parseClientConfig(body, url);
}
