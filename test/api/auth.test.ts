import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAccess, type FakeAccess } from "./fake-access";
import { API_KEY, BEARER, answer, postForm, postJson, startServer, type TestServer } from "./helpers";

const SOCKET = "123.456";
const CHANNEL = "private-Sales.Order.281474976710657";
const BROWSER = { Cookie: "XASSESSIONID=session-1; other=x", "X-Csrf-Token": "csrf-token-1" };
const BROKER = { BROKER_APP_ID: "1", BROKER_KEY: "authkey", BROKER_SECRET: "authsecret" };

function expectedAuth(socketId: string, channel: string): string {
    return `authkey:${createHmac("sha256", "authsecret").update(`${socketId}:${channel}`).digest("hex")}`;
}

let access: FakeAccess;
let server: TestServer;
let auth: string;

beforeAll(async () => {
    access = await startFakeAccess();
    server = await startServer({ ...BROKER, MENDIX_APP_URL: access.url, MENDIX_TIMEOUT_MS: "200" });
    auth = `${server.url}/rest/pusher/auth`;
});

afterAll(async () => {
    await server.close();
    await access.close();
});

describe("browser caller (access check)", () => {
    it("signs on 200 { user } and forwards Cookie, X-Csrf-Token and JSON { channel, topic, kind }", async () => {
        access.mode = "allow";
        const before = access.requests.length;
        const { status, body } = await answer(postForm(auth, { socket_id: SOCKET, channel_name: CHANNEL }, BROWSER));
        expect(status).toBe(200);
        // With the catch-up position of a first subscription (docs/architecture-catchup.md).
        expect(body).toEqual({
            auth: expectedAuth(SOCKET, CHANNEL),
            catchup: { epoch: server.running.catchup.store.epoch, seq: expect.any(Number) }
        });
        expect(access.requests.slice(before)).toEqual([
            expect.objectContaining({
                cookie: BROWSER.Cookie,
                csrfToken: BROWSER["X-Csrf-Token"],
                contentType: "application/json",
                body: { channel: CHANNEL, topic: "Sales.Order.281474976710657", kind: "object" }
            })
        ]);
    });

    it("accepts JSON bodies too", async () => {
        access.mode = "allow";
        const { status, body } = await answer(postJson(auth, { socket_id: SOCKET, channel_name: CHANNEL }, BROWSER));
        expect(status).toBe(200);
        expect(body.auth).toBe(expectedAuth(SOCKET, CHANNEL));
    });

    it.each([
        ["unauthenticated", 401, "not_authenticated"],
        ["forbidden", 403, "forbidden"],
        ["error", 503, "access_check_unavailable"],
        ["not_found", 503, "access_check_unavailable"],
        ["garbage", 503, "access_check_unavailable"],
        ["wrong_json", 503, "access_check_unavailable"],
        ["redirect", 503, "access_check_unavailable"],
        ["hang", 503, "access_check_unavailable"]
    ] as const)("access check %s -> %i %s, never signs", async (mode, status, code) => {
        access.mode = mode;
        const started = Date.now();
        const result = await answer(postForm(auth, { socket_id: SOCKET, channel_name: CHANNEL }, BROWSER));
        expect(result.status).toBe(status);
        expect(result.body.error.code).toBe(code);
        expect(result.body.auth).toBeUndefined();
        if (mode === "forbidden") {
            expect(result.body.error.message).toBe("You may not listen to this object.");
        }
        if (mode === "hang") {
            // MENDIX_TIMEOUT_MS=200
            expect(Date.now() - started).toBeLessThan(2000);
            expect(result.body.error.details.reason).toMatch(/within 200 ms/);
        }
    });

    it("answers 503 access_check_unavailable when the Mendix app is down", async () => {
        const gone = await startFakeAccess();
        await gone.close();
        const other = await startServer({ MENDIX_APP_URL: gone.url });
        try {
            const { status, body } = await answer(
                postForm(`${other.url}/rest/pusher/auth`, { socket_id: SOCKET, channel_name: CHANNEL })
            );
            expect(status).toBe(503);
            expect(body.error.code).toBe("access_check_unavailable");
        } finally {
            await other.close();
        }
    });

    it("answers 503 when no Mendix app is configured", async () => {
        const other = await startServer({});
        try {
            const { status, body } = await answer(
                postForm(`${other.url}/rest/pusher/auth`, { socket_id: SOCKET, channel_name: CHANNEL })
            );
            expect(status).toBe(503);
            expect(body.error).toMatchObject({
                code: "access_check_unavailable",
                message: expect.stringMatching(/MENDIX_APP_URL/)
            });
        } finally {
            await other.close();
        }
    });

    it("uses AppOptions.accessCheckUrl over MENDIX_APP_URL", async () => {
        const preferred = await startFakeAccess("allow");
        const other = await startServer({ MENDIX_APP_URL: access.url }, { accessCheckUrl: () => preferred.url });
        try {
            access.mode = "forbidden";
            const { status } = await answer(
                postForm(`${other.url}/rest/pusher/auth`, { socket_id: SOCKET, channel_name: CHANNEL })
            );
            expect(status).toBe(200);
            expect(preferred.requests).toHaveLength(1);
        } finally {
            await other.close();
            await preferred.close();
        }
    });
});

describe("Mendix app relay (Bearer)", () => {
    it("signs without an access check", async () => {
        access.mode = "forbidden";
        const before = access.requests.length;
        const { status, body } = await answer(
            postForm(auth, { socket_id: "1.2", channel_name: "private-Custom.Topic" }, BEARER)
        );
        expect(status).toBe(200);
        expect(body).toEqual({
            auth: expectedAuth("1.2", "private-Custom.Topic"),
            catchup: { epoch: server.running.catchup.store.epoch, seq: expect.any(Number) }
        });
        expect(access.requests.length).toBe(before);
    });

    it.each([`Bearer ${API_KEY}x`, "Bearer ", "Bearer wrong", `bearer ${API_KEY.slice(1)}`])(
        "answers 401 invalid_api_key for %j",
        async authorization => {
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: CHANNEL }, { Authorization: authorization })
            );
            expect(status).toBe(401);
            expect(body.error.code).toBe("invalid_api_key");
        }
    );
});

describe("input validation", () => {
    it.each([
        [{ channel_name: CHANNEL }, "socket_id"],
        [{ socket_id: SOCKET }, "channel_name"],
        [{ socket_id: "abc", channel_name: CHANNEL }, "socket_id"],
        [{ socket_id: "1.1:private-x", channel_name: CHANNEL }, "socket_id"],
        [{ socket_id: "1.1\n", channel_name: CHANNEL }, "socket_id"],
        [{ socket_id: SOCKET, channel_name: "Sales.Order.1" }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: "presence-user-mary" }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: "private-user-=6Dary" }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: "private-broadcast-" }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: "public-x" }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: "private-" }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: "private-a b" }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: `private-${"x".repeat(160)}` }, "channel_name"],
        [{ socket_id: SOCKET, channel_name: "private-x:1.1" }, "channel_name"]
    ])("form %j -> 400 invalid_request naming %s", async (fields, path) => {
        const { status, body } = await answer(postForm(auth, fields as Record<string, string>, BEARER));
        expect(status).toBe(400);
        expect(body.error.code).toBe("invalid_request");
        expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    });

    it("rejects ill-typed JSON fields", async () => {
        const { status, body } = await answer(postJson(auth, { socket_id: 123.456, channel_name: [CHANNEL] }, BEARER));
        expect(status).toBe(400);
        expect(body.error.details.map((detail: { path: string }) => detail.path)).toEqual([
            "socket_id",
            "channel_name"
        ]);
    });

    it("rejects a duplicated form field (array) instead of signing one of them", async () => {
        const res = await fetch(auth, {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded", ...BEARER },
            body: `socket_id=1.1&socket_id=2.2&channel_name=${CHANNEL}`
        });
        expect(res.status).toBe(400);
        expect((await res.json()).error.code).toBe("invalid_request");
    });

    it("answers 400 invalid_json for broken JSON", async () => {
        const { status, body } = await answer(postJson(auth, '{"socket_id": ', BEARER));
        expect(status).toBe(400);
        expect(body.error.code).toBe("invalid_json");
    });

    it("answers 415 unsupported_media_type for other content types", async () => {
        const res = await fetch(auth, {
            method: "POST",
            headers: { "Content-Type": "text/plain", ...BEARER },
            body: `socket_id=${SOCKET}`
        });
        expect(res.status).toBe(415);
        expect((await res.json()).error.code).toBe("unsupported_media_type");
    });

    it("answers 400 invalid_request without a body", async () => {
        const { status, body } = await answer(fetch(auth, { method: "POST", headers: BEARER }));
        expect(status).toBe(400);
        expect(body.error.code).toBe("invalid_request");
    });

    it("answers 413 payload_too_large above 16 KB", async () => {
        const { status, body } = await answer(
            postForm(auth, { socket_id: SOCKET, channel_name: CHANNEL, padding: "x".repeat(17_000) }, BEARER)
        );
        expect(status).toBe(413);
        expect(body.error).toMatchObject({ code: "payload_too_large", details: { limit: 16_384 } });
    });
});

describe("logs", () => {
    it("never contain the API key, cookies or CSRF tokens", () => {
        const all = server.logs.join("\n");
        expect(server.logs.length).toBeGreaterThan(10);
        expect(all).not.toContain(API_KEY);
        expect(all).not.toContain("session-1");
        expect(all).not.toContain("csrf-token-1");
        expect(all).not.toContain("authsecret");
    });
});
