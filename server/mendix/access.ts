/**
 * Client of the Mendix access check (contract in docs/access-check.md and docs/architecture.md):
 * `POST <MENDIX_APP_URL>/rest/notifylisten/v1/access` with the browser's `Cookie` and `X-Csrf-Token`
 * and JSON `{ "channel", "topic", "kind" }` (`kind`: `object` for `private-<topic>` and `presence-<topic>`, `user`,
 * `broadcast`). 200 `{ "user", "displayName"? }` allows; 401 = no session; 403 = may not listen; anything else
 * (other status, garbage, a `displayName` that is not a short string, redirect, network error, timeout) = unavailable.
 *
 * It uses `node:http` / `node:https` with one keep-alive `Agent` per protocol (bounded sockets), not the
 * global `fetch`: undici's web streams and WASM parser were ~28 % of the server's CPU on the browser auth
 * path (bench/RESULTS.md, finding F4). The timeout covers the whole exchange (queueing for a socket,
 * connecting, the answer and its body); an answer above 64 KB is not read.
 *
 * At most `limits.maxConcurrent` checks run at once (./gate.ts): after a restart every open page authorizes again
 * at once, and the Mendix app must not see more than that many requests. A check that waits too long, or finds the
 * queue full, is `unavailable` with a `retryAfterSeconds` spread over the queue timeout.
 */
import { randomInt } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { validateDisplayName } from "../../protocol/index.js";
import { createGate, type Busy, type GateLimits, type GateStats } from "./gate.js";

export const ACCESS_CHECK_PATH = "/rest/notifylisten/v1/access";
/** Answers larger than this are not read (a Mendix access answer is a few bytes). */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Concurrent connections to the Mendix app per protocol; further checks wait for a free one. */
export const ACCESS_MAX_SOCKETS = 64;
/**
 * An idle kept-alive connection is closed after this long: below Node's default server keep-alive timeout
 * (5 s), so the app does not close it under a request being sent. A `Keep-Alive: timeout=N` hint of the app
 * shortens it further.
 */
export const ACCESS_IDLE_SOCKET_MS = 4_000;

/** What the access check is asked about: an object (its private or presence channel), a user channel, or a broadcast. */
export type AccessKind = "object" | "user" | "broadcast";

export type AccessResult =
    /** `displayName` only when the app answered a non-empty one. */
    | { outcome: "allowed"; user: string; displayName?: string }
    | { outcome: "not_authenticated" }
    | { outcome: "forbidden" }
    /**
     * `reason` is safe to show to the browser; `cause` (network detail) is for logs only; `retryAfterSeconds` when
     * the check did not start because too many were running (ask again then).
     */
    | { outcome: "unavailable"; reason: string; status?: number; cause?: string; retryAfterSeconds?: number };

export interface AccessCheckRequest {
    /** Base URL of the Mendix app (MENDIX_APP_URL), without trailing slash. */
    baseUrl: string;
    timeoutMs: number;
    channel: string;
    topic: string;
    kind: AccessKind;
    /** The browser's `Cookie` header, forwarded as is. */
    cookie?: string;
    /** The browser's `X-Csrf-Token` header, forwarded as is. */
    csrfToken?: string;
    /** Forwarded as `X-Request-Id` for log correlation. */
    requestId?: string;
}

export interface AccessClientOptions {
    /** Default ACCESS_MAX_SOCKETS. */
    maxSockets?: number;
    /** Default ACCESS_IDLE_SOCKET_MS. */
    idleSocketMs?: number;
    /** Checks at once, waiting and how long (MENDIX_MAX_CONCURRENT, MENDIX_QUEUE_*); default ACCESS_LIMITS. */
    limits?: GateLimits;
}

/** Defaults of MENDIX_MAX_CONCURRENT, MENDIX_QUEUE_LIMIT and MENDIX_QUEUE_TIMEOUT_MS. */
export const ACCESS_LIMITS: GateLimits = { maxConcurrent: 32, queueLimit: 10_000, queueTimeoutMs: 10_000 };

export interface AccessClient {
    /** Calls the access check; never throws. */
    check(request: AccessCheckRequest): Promise<AccessResult>;
    /** Checks running and waiting, and the most that ran at once. */
    stats(): GateStats;
    /** Closes every connection to the Mendix app (checks after this open new ones). */
    close(): void;
}

export function accessCheckUrl(baseUrl: string): string {
    return baseUrl.replace(/\/+$/, "") + ACCESS_CHECK_PATH;
}

type Unavailable = AccessResult & { outcome: "unavailable" };

const tooLarge = (status: number): Unavailable => ({
    outcome: "unavailable",
    reason: "the access check answer is too large",
    status
});

function unreachable(error: unknown): Unavailable {
    const cause =
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    return { outcome: "unavailable", reason: "the access check could not be reached", cause };
}

/**
 * Reads a 200 answer: `{ "user": "<name>", "displayName"?: "<name shown>" }` allows, anything else is unavailable.
 * An empty or `null` `displayName` counts as absent (what a Mendix export mapping sends for an empty attribute).
 */
function readAllowed(text: string, status: number): AccessResult {
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        return { outcome: "unavailable", reason: "the access check answered 200 without JSON", status };
    }
    const answer = json !== null && typeof json === "object" ? (json as { user?: unknown; displayName?: unknown }) : {};
    if (typeof answer.user !== "string" || answer.user === "") {
        return { outcome: "unavailable", reason: 'the access check answered 200 without { "user": "<name>" }', status };
    }
    const { displayName } = answer;
    if (displayName === undefined || displayName === null || displayName === "") {
        return { outcome: "allowed", user: answer.user };
    }
    if (typeof displayName !== "string") {
        return {
            outcome: "unavailable",
            reason: "the access check answered a displayName that is not a string",
            status
        };
    }
    const problem = validateDisplayName(displayName);
    if (problem !== null) {
        return {
            outcome: "unavailable",
            reason: `the access check answered a displayName that is too long: ${problem}`,
            status
        };
    }
    return { outcome: "allowed", user: answer.user, displayName };
}

/** A request on a kept-alive connection that the app closed meanwhile fails like this; it is sent once more. */
function isStaleConnection(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    return code === "ECONNRESET" || code === "EPIPE";
}

interface Transport {
    request: (url: URL, options: http.RequestOptions) => http.ClientRequest;
    agent: http.Agent;
}

/** A check that did not start: ask again after a random 1 s up to the queue timeout, so pages do not come back together. */
function busyAnswer(why: Busy, limits: GateLimits): Unavailable {
    return {
        outcome: "unavailable",
        reason:
            why === "queue-full"
                ? "too many access checks are waiting for the Mendix app"
                : `the Mendix app did not take the access check within ${limits.queueTimeoutMs} ms (too many at once)`,
        retryAfterSeconds: randomInt(1, Math.max(2, Math.ceil(limits.queueTimeoutMs / 1000)) + 1)
    };
}

export function createAccessClient(options: AccessClientOptions = {}): AccessClient {
    const limits = options.limits ?? ACCESS_LIMITS;
    const gate = createGate(limits);
    const agentOptions: http.AgentOptions = {
        keepAlive: true,
        // The gate decides how many run; the agent must not make them wait a second time.
        maxSockets: options.maxSockets ?? Math.max(ACCESS_MAX_SOCKETS, limits.maxConcurrent),
        timeout: options.idleSocketMs ?? ACCESS_IDLE_SOCKET_MS,
        scheduling: "lifo"
    };
    const transports: Record<string, Transport | undefined> = {
        "http:": { request: http.request, agent: new http.Agent(agentOptions) },
        "https:": { request: https.request, agent: new https.Agent(agentOptions) }
    };
    // MENDIX_APP_URL rarely changes: keep the last parsed URL.
    let parsed: { baseUrl: string; url: URL } | undefined;
    const urlFor = (baseUrl: string): URL => {
        if (parsed?.baseUrl !== baseUrl) {
            parsed = { baseUrl, url: new URL(accessCheckUrl(baseUrl)) };
        }
        return parsed.url;
    };

    const check = (request: AccessCheckRequest): Promise<AccessResult> =>
        new Promise<AccessResult>(resolve => {
            const body = JSON.stringify({ channel: request.channel, topic: request.topic, kind: request.kind });
            const headers: http.OutgoingHttpHeaders = {
                "Content-Type": "application/json",
                "Content-Length": Buffer.byteLength(body),
                Accept: "application/json"
            };
            if (request.cookie !== undefined) {
                headers.Cookie = request.cookie;
            }
            if (request.csrfToken !== undefined) {
                headers["X-Csrf-Token"] = request.csrfToken;
            }
            if (request.requestId !== undefined) {
                headers["X-Request-Id"] = request.requestId;
            }

            // `settled`: the outcome is known. `done`: the exchange is over (an unread rest of a refusal is
            // drained so the connection can be reused; the timer still ends a drain that hangs).
            let settled = false;
            let done = false;
            let current: http.ClientRequest | undefined;
            const settle = (result: AccessResult): void => {
                if (!settled) {
                    settled = true;
                    resolve(result);
                }
            };
            const end = (result?: AccessResult): void => {
                if (result !== undefined) {
                    settle(result);
                }
                if (!done) {
                    done = true;
                    clearTimeout(timer);
                }
            };
            const timer = setTimeout(() => {
                settle({
                    outcome: "unavailable",
                    reason: `the access check did not answer within ${request.timeoutMs} ms`
                });
                done = true;
                current?.destroy();
            }, request.timeoutMs);

            let url: URL;
            try {
                url = urlFor(request.baseUrl);
            } catch (error) {
                end(unreachable(error));
                return;
            }
            const transport = transports[url.protocol];
            if (transport === undefined) {
                end(unreachable(new Error(`unsupported protocol ${url.protocol}`)));
                return;
            }

            const onResponse = (response: http.IncomingMessage): void => {
                const status = response.statusCode ?? 0;
                response.on("error", error => end({ ...unreachable(error), status }));
                response.on("close", () => {
                    // Closed before its end (aborted by the app, or destroyed here): never reused.
                    if (!response.complete) {
                        end({ ...unreachable(new Error("the answer was cut off")), status });
                    }
                });
                if (status !== 200) {
                    settle(
                        status === 401
                            ? { outcome: "not_authenticated" }
                            : status === 403
                              ? { outcome: "forbidden" }
                              : {
                                    outcome: "unavailable",
                                    reason:
                                        status === 404
                                            ? `the access check answered 404: is the published REST service ${ACCESS_CHECK_PATH} deployed?`
                                            : `the access check answered ${status}`,
                                    status
                                }
                    );
                    response.on("end", () => end());
                    response.resume();
                    return;
                }
                if (Number(response.headers["content-length"] ?? "0") > MAX_ANSWER_BYTES) {
                    end(tooLarge(status));
                    response.destroy();
                    return;
                }
                const chunks: Buffer[] = [];
                let bytes = 0;
                response.on("data", (chunk: Buffer) => {
                    bytes += chunk.length;
                    if (bytes > MAX_ANSWER_BYTES) {
                        end(tooLarge(status));
                        response.destroy();
                        return;
                    }
                    chunks.push(chunk);
                });
                response.on("end", () => end(readAllowed(Buffer.concat(chunks, bytes).toString("utf8"), status)));
            };

            const send = (mayResend: boolean): void => {
                let outgoing: http.ClientRequest;
                try {
                    outgoing = transport.request(url, { method: "POST", headers, agent: transport.agent });
                } catch (error) {
                    // Headers node refuses to send (e.g. control characters in the browser's cookie).
                    end(unreachable(error));
                    return;
                }
                current = outgoing;
                let answered = false;
                outgoing.on("response", response => {
                    answered = true;
                    onResponse(response);
                });
                outgoing.on("error", error => {
                    if (done) {
                        return;
                    }
                    if (mayResend && !answered && outgoing.reusedSocket && isStaleConnection(error)) {
                        send(false);
                        return;
                    }
                    end(unreachable(error));
                });
                outgoing.end(body);
            };
            send(true);
        });

    return {
        check: request =>
            gate.run(
                () => check(request),
                why => busyAnswer(why, limits)
            ),
        stats: () => gate.stats(),
        close() {
            for (const transport of Object.values(transports)) {
                transport?.agent.destroy();
            }
        }
    };
}
