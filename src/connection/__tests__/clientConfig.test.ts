// @vitest-environment node
import { describe, expect, it } from "vitest";
import { fakeFetch, json } from "../../__tests__/fakes";
import { requestChannelAuthorization } from "../auth";
import { fetchClientConfig, parseClientConfig } from "../clientConfig";
import { backoffDelay, ListenError } from "../../utils/errors";
import { resolveServer, type ServerEndpoints } from "../../utils/endpoints";

function endpoints(serverUrl = ""): ServerEndpoints {
    const result = resolveServer(serverUrl, "http://app.test/");
    if (!result.ok) {
        throw new Error(result.message);
    }
    return result.endpoints;
}

/** The ListenError a request rejects with. */
async function keyFailure(promise: Promise<unknown>): Promise<ListenError> {
    try {
        await promise;
    } catch (error) {
        if (error instanceof ListenError) {
            return error;
        }
        throw error;
    }
    throw new Error("expected a ListenError");
}

describe("fetchClientConfig (GET /rest/pusher/key)", () => {
    it("returns the client configuration and sends the CSRF token with same-origin credentials", async () => {
        const server = fakeFetch();
        const config = await fetchClientConfig(endpoints(), server.fetch, "csrf-1");
        expect(config).toEqual({
            key: "app-key",
            cluster: "local",
            wsHost: "127.0.0.1",
            wsPort: 6001,
            forceTLS: false
        });
        expect(server.requests[0]).toMatchObject({
            url: "http://app.test/rest/pusher/key",
            method: "GET",
            credentials: "same-origin",
            headers: { "x-csrf-token": "csrf-1" }
        });
    });

    it("includes cookies when the server is on another origin", async () => {
        const server = fakeFetch();
        await fetchClientConfig(endpoints("http://notify.test:8080"), server.fetch, undefined);
        expect(server.requests[0]).toMatchObject({
            url: "http://notify.test:8080/rest/pusher/key",
            credentials: "include"
        });
        expect(server.requests[0].headers["x-csrf-token"]).toBeUndefined();
    });

    it("reports an unreachable server as retryable", async () => {
        const server = fakeFetch({ key: () => new TypeError("fetch failed") });
        const error = await keyFailure(fetchClientConfig(endpoints(), server.fetch, undefined));
        expect(error).toMatchObject({ kind: "key-unreachable", retryable: true });
        expect(error.message).toMatch(
            /Cannot reach the Notify & Listen server at http:\/\/app.test\/rest\/pusher\/key \(fetch failed\)/
        );
    });

    it("reports a non-200 answer with the server's explanation; only 5xx is retryable", async () => {
        const notFound = fakeFetch({
            key: () => json({ error: { code: "not_found", message: "No such route" } }, 404)
        });
        const error = await keyFailure(fetchClientConfig(endpoints(), notFound.fetch, undefined));
        expect(error).toMatchObject({ kind: "key-status", status: 404, retryable: false });
        expect(error.message).toMatch(/answered HTTP 404 .*\(No such route\)/);

        const down = fakeFetch({ key: () => new Response("Bad gateway", { status: 502 }) });
        expect(await keyFailure(fetchClientConfig(endpoints(), down.fetch, undefined))).toMatchObject({
            kind: "key-status",
            status: 502,
            retryable: true
        });
    });

    it("reports an answer that is not JSON or not a configuration", async () => {
        const html = fakeFetch({ key: () => new Response("<html>login</html>", { status: 200 }) });
        expect(await keyFailure(fetchClientConfig(endpoints(), html.fetch, undefined))).toMatchObject({
            kind: "key-invalid",
            message: expect.stringMatching(/is not JSON/)
        });
        const noKey = fakeFetch({ key: () => json({ cluster: "eu" }) });
        expect(await keyFailure(fetchClientConfig(endpoints(), noKey.fetch, undefined))).toMatchObject({
            kind: "key-invalid",
            message: expect.stringMatching(/"key" is missing/)
        });
    });
});

describe("parseClientConfig", () => {
    it("adds a cluster when the server sends none (pusher-js 8 needs one) and accepts Pusher Channels configs", () => {
        expect(parseClientConfig({ key: "k", wsHost: "h" }, "u")).toEqual({ key: "k", cluster: "local", wsHost: "h" });
        expect(parseClientConfig({ key: "k", cluster: "eu" }, "u")).toEqual({ key: "k", cluster: "eu" });
        expect(parseClientConfig({ key: "k", cluster: "mt1", wsPort: "6001" }, "u")).toMatchObject({ wsPort: 6001 });
    });

    it("rejects wrong field types", () => {
        expect(() => parseClientConfig([], "u")).toThrow(/expected a JSON object/);
        expect(() => parseClientConfig({ key: "k", wsPort: 70000 }, "u")).toThrow(/"wsPort" must be a port number/);
        expect(() => parseClientConfig({ key: "k", forceTLS: "yes" }, "u")).toThrow(/"forceTLS" must be true or false/);
    });
});

describe("requestChannelAuthorization (POST /rest/pusher/auth)", () => {
    const params = { socketId: "123.456", channelName: "private-Sales.Order.1" };
    const authorize = (fetchImpl: ReturnType<typeof fakeFetch>["fetch"], csrfToken?: string) =>
        requestChannelAuthorization(endpoints(), params, fetchImpl, csrfToken);

    it("posts socket_id and channel_name form-encoded with the CSRF token, and returns the signature", async () => {
        const server = fakeFetch();
        expect(await authorize(server.fetch, "csrf-9")).toEqual({
            auth: "app-key:signature-for-private-Sales.Order.1"
        });
        expect(server.requests[0]).toMatchObject({
            url: "http://app.test/rest/pusher/auth",
            method: "POST",
            credentials: "same-origin",
            headers: { "x-csrf-token": "csrf-9", "content-type": "application/x-www-form-urlencoded" },
            body: "socket_id=123.456&channel_name=private-Sales.Order.1"
        });
    });

    it("explains 401 (not signed in) and 403 (may not listen), not retryable", async () => {
        const unauthorized = fakeFetch({
            auth: () => json({ error: { code: "not_authenticated", message: "x" } }, 401)
        });
        const r401 = await keyFailure(authorize(unauthorized.fetch));
        expect(r401).toMatchObject({ kind: "not-signed-in", status: 401, retryable: false });
        expect(r401.message).toMatch(/you are not signed in/);

        const forbidden = fakeFetch({ auth: () => json({ error: { code: "forbidden", message: "x" } }, 403) });
        const r403 = await keyFailure(authorize(forbidden.fetch));
        expect(r403).toMatchObject({ kind: "forbidden", status: 403, retryable: false });
        expect(r403.message).toMatch(/you may not listen to this object/);
    });

    it("marks 5xx, 429 and network failures as retryable and honours Retry-After", async () => {
        const unavailable = fakeFetch({
            auth: () => json({ error: { code: "access_check_unavailable", message: "Mendix did not answer" } }, 503)
        });
        const r503 = await keyFailure(authorize(unavailable.fetch));
        expect(r503).toMatchObject({ kind: "auth-unavailable", status: 503, retryable: true });
        expect(r503.message).toMatch(/HTTP 503: Mendix did not answer/);

        const limited = fakeFetch({
            auth: () => json({ error: { code: "rate_limited" } }, 429, { "Retry-After": "7" })
        });
        expect(await keyFailure(authorize(limited.fetch))).toMatchObject({ retryable: true, retryAfterMs: 7000 });

        const offline = fakeFetch({ auth: () => new TypeError("fetch failed") });
        expect(await keyFailure(authorize(offline.fetch))).toMatchObject({
            kind: "auth-unavailable",
            retryable: true,
            message: expect.stringMatching(/to authorize listening \(fetch failed\)/)
        });
    });

    it("refuses other statuses and answers without a signature", async () => {
        const bad = fakeFetch({
            auth: () => json({ error: { code: "invalid_request", message: "bad socket_id" } }, 400)
        });
        expect(await keyFailure(authorize(bad.fetch))).toMatchObject({
            kind: "auth-refused",
            status: 400,
            retryable: false,
            message: expect.stringMatching(/bad socket_id/)
        });
        const empty = fakeFetch({ auth: () => json({}) });
        expect(await keyFailure(authorize(empty.fetch))).toMatchObject({
            kind: "auth-refused",
            message: expect.stringMatching(/is not a channel authorization/)
        });
    });
});

describe("backoffDelay", () => {
    it("doubles from 1 s and stops at 30 s", () => {
        expect([0, 1, 2, 3, 4, 5, 6, 20].map(attempt => backoffDelay(attempt))).toEqual([
            1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000
        ]);
    });
});
