import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeAccess, type FakeAccess } from "../../test/api/fake-access";
import {
    ACCESS_CHECK_PATH,
    MAX_ANSWER_BYTES,
    accessCheckUrl,
    createAccessClient,
    type AccessCheckRequest,
    type AccessClient
} from "../mendix/access";

let fake: FakeAccess;
let client: AccessClient;

beforeAll(async () => {
    fake = await startFakeAccess();
    client = createAccessClient();
});

afterAll(async () => {
    client.close();
    await fake.close();
});

function request(overrides: Partial<AccessCheckRequest> = {}): AccessCheckRequest {
    return {
        baseUrl: fake.url,
        timeoutMs: 1000,
        channel: "private-Sales.Order.1",
        topic: "Sales.Order.1",
        cookie: "XASSESSIONID=abc; other=1",
        csrfToken: "csrf-123",
        requestId: "req-1",
        ...overrides
    };
}

describe("access client", () => {
    it("builds the access check URL from the app base URL", () => {
        expect(accessCheckUrl("https://app.example.com/")).toBe(`https://app.example.com${ACCESS_CHECK_PATH}`);
    });

    it("allows on 200 { user } and forwards cookie, CSRF token and JSON { channel, topic }", async () => {
        fake.mode = "allow";
        fake.user = "maria";
        const before = fake.requests.length;
        expect(await client.check(request())).toEqual({ outcome: "allowed", user: "maria" });
        expect(fake.requests.slice(before)).toEqual([
            {
                method: "POST",
                path: ACCESS_CHECK_PATH,
                cookie: "XASSESSIONID=abc; other=1",
                csrfToken: "csrf-123",
                contentType: "application/json",
                requestId: "req-1",
                body: { channel: "private-Sales.Order.1", topic: "Sales.Order.1" }
            }
        ]);
    });

    it("sends no Cookie or X-Csrf-Token header when the browser sent none", async () => {
        fake.mode = "unauthenticated";
        const before = fake.requests.length;
        expect(await client.check(request({ cookie: undefined, csrfToken: undefined }))).toEqual({
            outcome: "not_authenticated"
        });
        expect(fake.requests[before].cookie).toBeUndefined();
        expect(fake.requests[before].csrfToken).toBeUndefined();
    });

    it("maps 403 to forbidden", async () => {
        fake.mode = "forbidden";
        expect(await client.check(request())).toEqual({ outcome: "forbidden" });
    });

    it.each([
        ["error", /answered 500/],
        ["not_found", /answered 404: is the published REST service/],
        ["garbage", /200 without JSON/],
        ["wrong_json", /200 without \{ "user"/],
        ["redirect", /answered 302/]
    ] as const)("answers unavailable for %s", async (mode, reason) => {
        fake.mode = mode;
        const result = await client.check(request());
        expect(result.outcome).toBe("unavailable");
        expect(result.outcome === "unavailable" && result.reason).toMatch(reason);
    });

    it("answers unavailable after the timeout when the app hangs", async () => {
        fake.mode = "hang";
        const started = Date.now();
        const result = await client.check(request({ timeoutMs: 200 }));
        const elapsed = Date.now() - started;
        expect(result).toEqual({ outcome: "unavailable", reason: "the access check did not answer within 200 ms" });
        expect(elapsed).toBeGreaterThanOrEqual(190);
        expect(elapsed).toBeLessThan(2000);
    });

    it("answers unavailable when the app cannot be reached", async () => {
        const closed = await startFakeAccess();
        const url = closed.url;
        await closed.close();
        const result = await client.check(request({ baseUrl: url }));
        expect(result).toMatchObject({
            outcome: "unavailable",
            reason: "the access check could not be reached",
            cause: expect.stringMatching(/ECONNREFUSED/)
        });
    });

    it("answers unavailable, without throwing, for a URL it cannot call and headers node refuses to send", async () => {
        expect(await client.check(request({ baseUrl: "ftp://app.example.com" }))).toMatchObject({
            outcome: "unavailable",
            reason: "the access check could not be reached",
            cause: "unsupported protocol ftp:"
        });
        fake.mode = "allow";
        const before = fake.requests.length;
        expect(await client.check(request({ cookie: "a=1\r\nX-Injected: yes" }))).toMatchObject({
            outcome: "unavailable",
            reason: "the access check could not be reached"
        });
        expect(fake.requests.length).toBe(before);
    });
});

/** A raw app for connection-level behaviour: counts connections and answers with `respond`. */
interface RawApp {
    url: string;
    connections: number;
    requests: number;
    respond: (req: http.IncomingMessage, res: http.ServerResponse, nth: number, socket: Socket) => void;
    close(): Promise<void>;
}

async function startRawApp(): Promise<RawApp> {
    const counts = new Map<Socket, number>();
    const state: RawApp = {
        url: "",
        connections: 0,
        requests: 0,
        respond: (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end('{"user":"raw"}'),
        close: async () => undefined
    };
    const server = http.createServer((req, res) => {
        const nth = (counts.get(req.socket) ?? 0) + 1;
        counts.set(req.socket, nth);
        state.requests++;
        req.resume();
        req.on("end", () => state.respond(req, res, nth, req.socket));
    });
    server.on("connection", () => {
        state.connections++;
    });
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    state.close = () =>
        new Promise<void>(resolve => {
            server.close(() => resolve());
            server.closeAllConnections();
        });
    return state;
}

describe("access client connections", () => {
    let raw: RawApp;
    let own: AccessClient | undefined;

    // A fresh app per test: connection counts must not see late connections of the test before.
    beforeEach(async () => {
        raw = await startRawApp();
    });
    afterEach(async () => {
        own?.close();
        own = undefined;
        await raw.close();
    });

    const check = (target: AccessClient, timeoutMs = 1000) =>
        target.check({ baseUrl: raw.url, timeoutMs, channel: "private-A.B.1", topic: "A.B.1" });

    it("reuses one kept-alive connection for consecutive checks, and close() ends it", async () => {
        own = createAccessClient();
        for (let i = 0; i < 5; i++) {
            expect(await check(own)).toEqual({ outcome: "allowed", user: "raw" });
        }
        expect(raw.connections).toBe(1);
        own.close();
        // After close() a check opens a new connection and still works.
        expect(await check(own)).toEqual({ outcome: "allowed", user: "raw" });
        expect(raw.connections).toBe(2);
    });

    it("opens at most maxSockets connections; checks beyond wait and time out within their timeout", async () => {
        own = createAccessClient({ maxSockets: 2 });
        raw.respond = () => undefined;
        const started = Date.now();
        const results = await Promise.all(Array.from({ length: 5 }, () => check(own!, 300)));
        // Counted right away: once the timed-out requests are gone, node's agent may still open one connection
        // for a queued request that was already given up (and closes it again).
        expect(raw.connections).toBe(2);
        expect(raw.requests).toBe(2);
        expect(Date.now() - started).toBeLessThan(2000);
        for (const result of results) {
            expect(result).toEqual({ outcome: "unavailable", reason: "the access check did not answer within 300 ms" });
        }
    });

    it("sends a check once more on a new connection when the app dropped the kept-alive one", async () => {
        own = createAccessClient();
        // The app closes a connection when a second request arrives on it (an idle timeout racing the request).
        raw.respond = (_req, res, nth, socket) => {
            if (nth > 1) {
                socket.destroy();
                return;
            }
            res.writeHead(200, { "Content-Type": "application/json" }).end('{"user":"raw"}');
        };
        expect(await check(own)).toEqual({ outcome: "allowed", user: "raw" });
        expect(await check(own)).toEqual({ outcome: "allowed", user: "raw" });
        expect(raw.connections).toBe(2);
        expect(raw.requests).toBe(3);
    });

    it("does not read answers larger than 64 KB, with or without Content-Length", async () => {
        own = createAccessClient();
        const big = JSON.stringify({ user: "x".repeat(MAX_ANSWER_BYTES) });
        raw.respond = (req, res) => {
            if (req.headers["x-request-id"] === "chunked") {
                res.writeHead(200, { "Content-Type": "application/json" });
                res.write(big.slice(0, 40_000));
                res.end(big.slice(40_000));
                return;
            }
            res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(big) });
            res.end(big);
        };
        const tooLarge = { outcome: "unavailable", reason: "the access check answer is too large", status: 200 };
        expect(await check(own)).toEqual(tooLarge);
        expect(
            await own.check({
                baseUrl: raw.url,
                timeoutMs: 1000,
                channel: "private-A.B.1",
                topic: "A.B.1",
                requestId: "chunked"
            })
        ).toEqual(tooLarge);
    });

    it("times out an answer whose body never ends", async () => {
        own = createAccessClient();
        raw.respond = (_req, res) => {
            res.writeHead(200, { "Content-Type": "application/json" });
            res.write('{"user":');
        };
        expect(await check(own, 250)).toEqual({
            outcome: "unavailable",
            reason: "the access check did not answer within 250 ms"
        });
    });
});
