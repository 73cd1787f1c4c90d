/**
 * Client of the Mendix access check (contract in DESIGN.md):
 * `POST <MENDIX_APP_URL>/rest/notifylisten/v1/access` with the browser's `Cookie` and `X-Csrf-Token`
 * and JSON `{ "channel", "topic" }`. 200 `{ "user" }` allows; 401 = no session; 403 = may not listen;
 * anything else (other status, garbage, redirect, network error, timeout) = unavailable.
 */
import { z } from "zod";

export const ACCESS_CHECK_PATH = "/rest/notifylisten/v1/access";
/** Answers larger than this are not read (a Mendix access answer is a few bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

export type AccessResult =
    | { outcome: "allowed"; user: string }
    | { outcome: "not_authenticated" }
    | { outcome: "forbidden" }
    /** `reason` is safe to show to the browser; `cause` (network detail) is for logs only. */
    | { outcome: "unavailable"; reason: string; status?: number; cause?: string };

export interface AccessCheckRequest {
    /** Base URL of the Mendix app (MENDIX_APP_URL), without trailing slash. */
    baseUrl: string;
    timeoutMs: number;
    channel: string;
    topic: string;
    /** The browser's `Cookie` header, forwarded as is. */
    cookie?: string;
    /** The browser's `X-Csrf-Token` header, forwarded as is. */
    csrfToken?: string;
    /** Forwarded as `X-Request-Id` for log correlation. */
    requestId?: string;
}

const allowedAnswer = z.object({ user: z.string() });

export function accessCheckUrl(baseUrl: string): string {
    return baseUrl.replace(/\/+$/, "") + ACCESS_CHECK_PATH;
}

/** Calls the access check; never throws. */
export async function checkAccess(request: AccessCheckRequest, fetchImpl: typeof fetch = fetch): Promise<AccessResult> {
    const headers: Record<string, string> = {
        "Content-Type": "application/json",
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
    const signal = AbortSignal.timeout(request.timeoutMs);
    let response: Response;
    try {
        response = await fetchImpl(accessCheckUrl(request.baseUrl), {
            method: "POST",
            headers,
            body: JSON.stringify({ channel: request.channel, topic: request.topic }),
            redirect: "manual",
            signal
        });
    } catch (error) {
        return unavailable(error, request.timeoutMs);
    }
    const status = response.status;
    if (status === 401 || status === 403) {
        await response.body?.cancel().catch(() => undefined);
        return status === 401 ? { outcome: "not_authenticated" } : { outcome: "forbidden" };
    }
    if (status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        return {
            outcome: "unavailable",
            reason:
                status === 404
                    ? `the access check answered 404: is the published REST service ${ACCESS_CHECK_PATH} deployed?`
                    : `the access check answered ${status}`,
            status
        };
    }
    let text: string;
    try {
        const declared = Number(response.headers.get("content-length") ?? "0");
        if (declared > MAX_ANSWER_BYTES) {
            await response.body?.cancel().catch(() => undefined);
            return { outcome: "unavailable", reason: "the access check answer is too large", status };
        }
        text = await response.text();
    } catch (error) {
        return { ...unavailable(error, request.timeoutMs), status };
    }
    if (text.length > MAX_ANSWER_BYTES) {
        return { outcome: "unavailable", reason: "the access check answer is too large", status };
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        return { outcome: "unavailable", reason: "the access check answered 200 without JSON", status };
    }
    const parsed = allowedAnswer.safeParse(json);
    if (!parsed.success) {
        return { outcome: "unavailable", reason: 'the access check answered 200 without { "user": "<name>" }', status };
    }
    return { outcome: "allowed", user: parsed.data.user };
}

function unavailable(error: unknown, timeoutMs: number): AccessResult & { outcome: "unavailable" } {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
        return { outcome: "unavailable", reason: `the access check did not answer within ${timeoutMs} ms` };
    }
    const cause =
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    return { outcome: "unavailable", reason: "the access check could not be reached", cause };
}
