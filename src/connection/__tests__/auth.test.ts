// @vitest-environment node
import { describe, expect, it } from "vitest";
import { fakeFetch, json } from "../../__tests__/fakes";
import { requestChannelAuthorization } from "../auth";
import { endpoints, rejection } from "./helpers";

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
        const r401 = await rejection(authorize(unauthorized.fetch));
        expect(r401).toMatchObject({ kind: "not-signed-in", status: 401, retryable: false });
        expect(r401.message).toMatch(/you are not signed in/);

        const forbidden = fakeFetch({ auth: () => json({ error: { code: "forbidden", message: "x" } }, 403) });
        const r403 = await rejection(authorize(forbidden.fetch));
        expect(r403).toMatchObject({ kind: "forbidden", status: 403, retryable: false });
        expect(r403.message).toMatch(/you may not listen to this object/);
    });

    it("marks 5xx, 429 and network failures as retryable and honours Retry-After", async () => {
        const unavailable = fakeFetch({
            auth: () => json({ error: { code: "access_check_unavailable", message: "Mendix did not answer" } }, 503)
        });
        const r503 = await rejection(authorize(unavailable.fetch));
        expect(r503).toMatchObject({ kind: "auth-unavailable", status: 503, retryable: true });
        expect(r503.message).toMatch(/HTTP 503: Mendix did not answer/);

        const limited = fakeFetch({
            auth: () => json({ error: { code: "rate_limited" } }, 429, { "Retry-After": "7" })
        });
        expect(await rejection(authorize(limited.fetch))).toMatchObject({ retryable: true, retryAfterMs: 7000 });

        const offline = fakeFetch({ auth: () => new TypeError("fetch failed") });
        expect(await rejection(authorize(offline.fetch))).toMatchObject({
            kind: "auth-unavailable",
            retryable: true,
            message: expect.stringMatching(/to authorize listening \(fetch failed\)/)
        });
    });

    it("refuses other statuses and answers without a signature", async () => {
        const bad = fakeFetch({
            auth: () => json({ error: { code: "invalid_request", message: "bad socket_id" } }, 400)
        });
        expect(await rejection(authorize(bad.fetch))).toMatchObject({
            kind: "auth-refused",
            status: 400,
            retryable: false,
            message: expect.stringMatching(/bad socket_id/)
        });
        const html = fakeFetch({ auth: () => new Response("<html></html>", { status: 200 }) });
        expect(await rejection(authorize(html.fetch))).toMatchObject({ kind: "auth-refused", status: 200 });
        const empty = fakeFetch({ auth: () => json({}) });
        expect(await rejection(authorize(empty.fetch))).toMatchObject({
            kind: "auth-refused",
            message: expect.stringMatching(/is not a channel authorization/)
        });
    });
});
