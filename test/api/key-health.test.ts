import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakePusher, type FakePusher } from "./fake-pusher";
import { answer, startServer, type TestServer } from "./helpers";

describe("embedded broker", () => {
    let server: TestServer;

    beforeAll(async () => {
        server = await startServer({ BROKER_APP_ID: "4242", BROKER_KEY: "fixedkey", BROKER_SECRET: "fixedsecret" });
    });
    afterAll(async () => {
        await server.close();
    });

    it("GET /rest/pusher/key gives key, local cluster and the request's host, port and protocol", async () => {
        const res = await fetch(`${server.url}/rest/pusher/key`);
        expect(res.status).toBe(200);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(res.headers.get("x-powered-by")).toBeNull();
        const port = Number(new URL(server.url).port);
        expect(await res.json()).toEqual({
            key: "fixedkey",
            cluster: "local",
            wsHost: "127.0.0.1",
            wsPort: port,
            forceTLS: false
        });
    });

    it("honours X-Forwarded-Proto and X-Forwarded-Host from a trusted (loopback) proxy", async () => {
        const { status, body } = await answer(
            fetch(`${server.url}/rest/pusher/key`, {
                headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com" }
            })
        );
        expect(status).toBe(200);
        expect(body).toEqual({
            key: "fixedkey",
            cluster: "local",
            wsHost: "app.example.com",
            wsPort: 443,
            forceTLS: true
        });
        const withPort = await answer(
            fetch(`${server.url}/rest/pusher/key`, {
                headers: { "X-Forwarded-Proto": "http", "X-Forwarded-Host": "app.example.com:8081" }
            })
        );
        expect(withPort.body).toMatchObject({ wsHost: "app.example.com", wsPort: 8081, forceTLS: false });
    });

    it("never returns the secret or the app id", async () => {
        const text = await (await fetch(`${server.url}/rest/pusher/key`)).text();
        expect(text).not.toContain("fixedsecret");
        expect(text).not.toContain("4242");
    });

    it("GET /healthz and /readyz answer ok and ready", async () => {
        expect(await answer(fetch(`${server.url}/healthz`))).toEqual({ status: 200, body: { status: "ok" } });
        expect(await answer(fetch(`${server.url}/readyz`))).toEqual({
            status: 200,
            body: { status: "ready", broker: "embedded" }
        });
    });

    it("answers unknown paths with 404 not_found and sets a request id", async () => {
        const res = await fetch(`${server.url}/nope`, { headers: { "X-Request-Id": "abc-123" } });
        expect(res.status).toBe(404);
        expect(res.headers.get("x-request-id")).toBe("abc-123");
        expect(await res.json()).toEqual({ error: { code: "not_found", message: "Nothing here: GET /nope" } });
        const generated = await fetch(`${server.url}/nope`, { headers: { "X-Request-Id": "bad id with spaces" } });
        expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
        await generated.text();
    });

    it("logs requests with their request id", () => {
        const lines = server.logs.map(line => JSON.parse(line) as Record<string, unknown>);
        expect(lines).toContainEqual(
            expect.objectContaining({ reqId: "abc-123", method: "GET", path: "/nope", status: 404, msg: "request" })
        );
    });

    it("the embedded broker's HTTP events API is served on the same port", async () => {
        // Unsigned: the broker refuses, but it answers (Pusher API errors are text).
        const res = await fetch(`${server.url}/apps/4242/events`, { method: "POST", body: "{}" });
        expect(res.status).toBe(401);
        await res.text();
    });
});

describe("WS_* overrides with the embedded broker", () => {
    it("returns WS_HOST, WS_PORT and WS_TLS instead of the request's values", async () => {
        const server = await startServer({ WS_HOST: "ws.example.com", WS_PORT: "8443", WS_TLS: "true" });
        try {
            const { body } = await answer(fetch(`${server.url}/rest/pusher/key`));
            expect(body).toEqual({
                key: server.running.broker!.key,
                cluster: "local",
                wsHost: "ws.example.com",
                wsPort: 8443,
                forceTLS: true
            });
        } finally {
            await server.close();
        }
    });
});

describe("Pusher-compatible host (PUSHER_HOST)", () => {
    let fake: FakePusher;
    let server: TestServer;

    beforeAll(async () => {
        fake = await startFakePusher();
        server = await startServer({
            ...fake.env
        });
    });
    afterAll(async () => {
        await server.close();
        await fake.close();
    });

    it("GET /rest/pusher/key returns PUSHER_HOST, PUSHER_PORT and PUSHER_USE_TLS", async () => {
        expect(await answer(fetch(`${server.url}/rest/pusher/key`))).toEqual({
            status: 200,
            body: { key: "hostkey", cluster: "local", wsHost: "127.0.0.1", wsPort: fake.port, forceTLS: false }
        });
        expect(server.running.broker).toBeUndefined();
    });

    it("GET /readyz probes GET /apps/<id>/channels (signed), caches the answer, and answers 503 when it fails", async () => {
        fake.reset();
        expect(await answer(fetch(`${server.url}/readyz`))).toEqual({
            status: 200,
            body: { status: "ready", broker: "pusher" }
        });
        expect(await answer(fetch(`${server.url}/readyz`))).toMatchObject({ status: 200 });
        const probes = fake.calls.filter(call => call.method === "GET");
        expect(probes).toHaveLength(1);
        expect(probes[0].path).toBe("/apps/777/channels");
        expect(probes[0].query).toMatchObject({ auth_key: "hostkey", auth_version: "1.0" });
        expect(probes[0].query.auth_signature).toMatch(/^[0-9a-f]{64}$/);

        const other = await startServer({
            ...fake.env
        });
        try {
            fake.down = true;
            const { status, body } = await answer(fetch(`${other.url}/readyz`));
            expect(status).toBe(503);
            expect(body.error).toMatchObject({ code: "not_ready", details: { broker: "pusher" } });
            expect(body.error.details.reason).toMatch(/status 503/);
        } finally {
            fake.down = false;
            await other.close();
        }
    });
});

describe("Pusher Channels (PUSHER_CLUSTER)", () => {
    it("GET /rest/pusher/key gives only key and cluster", async () => {
        const server = await startServer({
            PUSHER_APP_ID: "1",
            PUSHER_KEY: "channelskey",
            PUSHER_SECRET: "channelssecret",
            PUSHER_CLUSTER: "eu",
            WS_HOST: "ignored.example.com"
        });
        try {
            expect(await answer(fetch(`${server.url}/rest/pusher/key`))).toEqual({
                status: 200,
                body: { key: "channelskey", cluster: "eu" }
            });
        } finally {
            await server.close();
        }
    });
});
