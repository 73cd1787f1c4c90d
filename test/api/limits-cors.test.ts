import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAccess, type FakeAccess } from "./fake-access";
import { BEARER, answer, postForm, postJson, startServer, type TestServer } from "./helpers";

const FIELDS = { socket_id: "1.1", channel_name: "private-Sales.Order.1" };

describe("rate limits", () => {
    let access: FakeAccess;
    let server: TestServer;

    beforeAll(async () => {
        access = await startFakeAccess("allow");
        server = await startServer({ MENDIX_APP_URL: access.url, RATE_LIMIT_AUTH: "3", RATE_LIMIT_NOTIFY: "2" });
    });
    afterAll(async () => {
        await server.close();
        await access.close();
    });

    it("POST /rest/pusher/auth: the 4th browser request in a minute gets 429 rate_limited with Retry-After", async () => {
        for (let i = 0; i < 3; i++) {
            expect((await answer(postForm(`${server.url}/rest/pusher/auth`, FIELDS))).status).toBe(200);
        }
        const res = await postForm(`${server.url}/rest/pusher/auth`, FIELDS);
        expect(res.status).toBe(429);
        const retryAfter = Number(res.headers.get("retry-after"));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        const body = await res.json();
        expect(body.error).toMatchObject({ code: "rate_limited", details: { limit: 3, retryAfter } });
    });

    it("the Mendix app relaying with the right key is not limited", async () => {
        for (let i = 0; i < 5; i++) {
            expect((await answer(postForm(`${server.url}/rest/pusher/auth`, FIELDS, BEARER))).status).toBe(200);
        }
    });

    it("a wrong key still counts (no brute force past the limit)", async () => {
        const res = await postForm(`${server.url}/rest/pusher/auth`, FIELDS, { Authorization: "Bearer wrong" });
        expect(res.status).toBe(429);
        await res.text();
    });

    it("notify and batch share one limit; a batch counts as one request", async () => {
        const one = { topic: "Sales.Order.1", action: "refresh" };
        expect((await answer(postJson(`${server.url}/rest/pusher/notify`, one, BEARER))).status).toBe(200);
        const batch = { notifications: [one, one, one] };
        expect((await answer(postJson(`${server.url}/rest/pusher/notify/batch`, batch, BEARER))).status).toBe(200);
        const res = await postJson(`${server.url}/rest/pusher/notify`, one, BEARER);
        expect(res.status).toBe(429);
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect((await res.json()).error.code).toBe("rate_limited");
    });
});

describe("CORS allowlist", () => {
    let access: FakeAccess;
    let server: TestServer;
    const ALLOWED = "https://app.example.com";

    beforeAll(async () => {
        access = await startFakeAccess("allow");
        server = await startServer({ MENDIX_APP_URL: access.url, CORS_ORIGINS: `${ALLOWED},http://localhost:8081` });
    });
    afterAll(async () => {
        await server.close();
        await access.close();
    });

    it("answers the preflight of an allowed origin with 204 and the allowed methods and headers", async () => {
        const res = await fetch(`${server.url}/rest/pusher/auth`, {
            method: "OPTIONS",
            headers: {
                Origin: ALLOWED,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-csrf-token"
            }
        });
        expect(res.status).toBe(204);
        expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
        expect(res.headers.get("access-control-allow-credentials")).toBe("true");
        expect(res.headers.get("access-control-allow-headers")).toBe("Content-Type, X-Csrf-Token, Authorization");
        expect(res.headers.get("access-control-allow-methods")).toContain("POST");
        expect(res.headers.get("vary")).toContain("Origin");
    });

    it("reflects an allowed origin on the actual request", async () => {
        const res = await postForm(`${server.url}/rest/pusher/auth`, FIELDS, { Origin: ALLOWED });
        expect(res.status).toBe(200);
        expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
        expect(res.headers.get("access-control-allow-credentials")).toBe("true");
        await res.text();
        const key = await fetch(`${server.url}/rest/pusher/key`, { headers: { Origin: "http://localhost:8081" } });
        expect(key.headers.get("access-control-allow-origin")).toBe("http://localhost:8081");
        await key.text();
    });

    it("refuses other origins: 403 on preflight, no CORS headers otherwise", async () => {
        const preflight = await fetch(`${server.url}/rest/pusher/auth`, {
            method: "OPTIONS",
            headers: { Origin: "https://evil.example.com", "Access-Control-Request-Method": "POST" }
        });
        expect(preflight.status).toBe(403);
        expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
        expect((await preflight.json()).error.code).toBe("forbidden");

        const res = await fetch(`${server.url}/rest/pusher/key`, { headers: { Origin: "https://evil.example.com" } });
        expect(res.status).toBe(200);
        expect(res.headers.get("access-control-allow-origin")).toBeNull();
        expect(res.headers.get("access-control-allow-credentials")).toBeNull();
        await res.text();
    });

    it("sends no CORS headers when CORS_ORIGINS is empty (same origin only)", async () => {
        const other = await startServer({});
        try {
            const res = await fetch(`${other.url}/rest/pusher/key`, { headers: { Origin: ALLOWED } });
            expect(res.headers.get("access-control-allow-origin")).toBeNull();
            await res.text();
        } finally {
            await other.close();
        }
    });

    it("reflects any origin with CORS_ORIGINS=* (outside production)", async () => {
        const other = await startServer({ CORS_ORIGINS: "*" });
        try {
            const res = await fetch(`${other.url}/rest/pusher/key`, {
                headers: { Origin: "http://anything.test:3000" }
            });
            expect(res.headers.get("access-control-allow-origin")).toBe("http://anything.test:3000");
            await res.text();
        } finally {
            await other.close();
        }
    });
});
