/**
 * Finding 4: slow clients were held for minutes (Node's defaults): a header slowloris kept a connection 75 s,
 * a slow body 330 s. Now headers must arrive within HTTP_HEADERS_TIMEOUT_MS (default 10 s; WebSocket upgrade
 * requests too), the whole request within HTTP_REQUEST_TIMEOUT_MS (30 s), and idle keep-alive connections
 * close after HTTP_KEEP_ALIVE_TIMEOUT_MS (5 s). The answer is 408 `request_timeout` as JSON. A slow *answer*
 * (a slow Mendix access check) is not cut: the limits are on what the client sends.
 *
 * The tests use short limits and bounded waits; the cut-off times with the defaults are measured by
 * test/security/measure.ts.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../server/config";
import {
    GOOD_COOKIE,
    GOOD_CSRF,
    postForm,
    startApp,
    startFakeMendix,
    type AppUnderTest,
    type FakeMendix
} from "../reliability/harness";

const SHORT = { HTTP_HEADERS_TIMEOUT_MS: "400", HTTP_REQUEST_TIMEOUT_MS: "800", HTTP_KEEP_ALIVE_TIMEOUT_MS: "300" };
/** Far above the short limits, far below Node's old defaults (60 s headers, 300 s request). */
const GIVE_UP_MS = 8_000;

let app: AppUnderTest | undefined;
let mendix: FakeMendix | undefined;
afterEach(async () => {
    await app?.close();
    app = undefined;
    await mendix?.close();
    mendix = undefined;
});

interface Trickle {
    /** Resolves when the server closed the connection (or GIVE_UP_MS passed: `closedByServer` false). */
    done: Promise<{ closedByServer: boolean; ms: number; answer: string }>;
}

/** Opens a TCP connection, writes `first`, then one byte of `drip` every 100 ms until the server hangs up. */
function trickle(port: number, first: string, drip: string): Trickle {
    const socket = net.connect(port, "127.0.0.1");
    const started = Date.now();
    let answer = "";
    let index = 0;
    socket.on("data", chunk => (answer += chunk.toString("utf8")));
    socket.on("error", () => undefined);
    socket.write(first);
    const timer = setInterval(() => {
        if (!socket.destroyed && socket.writable) {
            socket.write(drip[index++ % drip.length]);
        }
    }, 100);
    const done = new Promise<{ closedByServer: boolean; ms: number; answer: string }>(resolve => {
        const giveUp = setTimeout(() => {
            clearInterval(timer);
            socket.destroy();
            resolve({ closedByServer: false, ms: Date.now() - started, answer });
        }, GIVE_UP_MS);
        socket.on("close", () => {
            clearTimeout(giveUp);
            clearInterval(timer);
            resolve({ closedByServer: true, ms: Date.now() - started, answer });
        });
    });
    return { done };
}

function expectTimeoutAnswer(result: { closedByServer: boolean; answer: string }): void {
    expect(result.closedByServer).toBe(true);
    const [head, body] = result.answer.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head).toMatch(/\r\nX-Content-Type-Options: nosniff/i);
    expect(head).toMatch(/\r\nContent-Type: application\/json/i);
    expect(JSON.parse(body)).toMatchObject({ error: { code: "request_timeout" } });
}

describe("finding 4: slow clients", () => {
    it("defaults: headers within 10 s, the whole request within 30 s, idle keep-alive 5 s", async () => {
        app = await startApp();
        const { server } = app.running;
        expect({
            headers: server.headersTimeout,
            request: server.requestTimeout,
            keepAlive: server.keepAliveTimeout
        }).toEqual({ headers: 10_000, request: 30_000, keepAlive: 5_000 });
    });

    it("a header slowloris is cut after HTTP_HEADERS_TIMEOUT_MS with 408 request_timeout", async () => {
        app = await startApp(SHORT);
        const result = await trickle(app.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: a\r\n").done;
        console.log(`[security] header slowloris (limit 400 ms) cut after ${result.ms} ms`);
        expectTimeoutAnswer(result);
    });

    it("a slow WebSocket upgrade request is cut the same way (the handshake is bounded)", async () => {
        app = await startApp(SHORT);
        const result = await trickle(
            app.port,
            "GET /app/key?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
            "X-Slow: a\r\n"
        ).done;
        expectTimeoutAnswer(result);
        expect(app.running.broker!.stats().connections).toBe(0);
    });

    it("a slow body is cut after HTTP_REQUEST_TIMEOUT_MS with 408 request_timeout", async () => {
        app = await startApp(SHORT);
        const result = await trickle(
            app.port,
            "POST /rest/pusher/auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n",
            "a"
        ).done;
        console.log(`[security] slow body (limit 800 ms) cut after ${result.ms} ms`);
        expectTimeoutAnswer(result);
    });

    it("an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS", async () => {
        app = await startApp(SHORT);
        const socket = net.connect(app.port, "127.0.0.1");
        socket.on("error", () => undefined);
        let answer = "";
        socket.on("data", chunk => (answer += chunk.toString("utf8")));
        const closed = new Promise<boolean>(resolve => {
            const giveUp = setTimeout(() => resolve(false), GIVE_UP_MS);
            socket.on("close", () => {
                clearTimeout(giveUp);
                resolve(true);
            });
        });
        socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
        expect(await closed).toBe(true);
        expect(answer).toMatch(/^HTTP\/1\.1 200 /);
        expect(answer).toMatch(/Keep-Alive: timeout=0/i);
        socket.destroy();
    });

    it("a slow answer is not cut: an access check longer than the request limit still signs", async () => {
        mendix = await startFakeMendix();
        mendix.mode = "slow";
        mendix.slowMs = 1_500;
        app = await startApp({ ...SHORT, MENDIX_APP_URL: mendix.url, MENDIX_TIMEOUT_MS: "5000" });
        const answer = await postForm(
            app.evidence,
            `${app.url}/rest/pusher/auth`,
            { socket_id: "1.2", channel_name: "private-Sales.Order.1" },
            { Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF }
        );
        expect(answer.status, answer.text).toBe(200);
        expect(answer.json).toMatchObject({ auth: expect.stringMatching(/^[^:]+:[0-9a-f]{64}$/) });
    });

    it("refuses a header limit above the request limit at start, naming the variable", () => {
        let error: unknown;
        try {
            loadConfig({ HTTP_HEADERS_TIMEOUT_MS: "40000" });
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).variables).toEqual(["HTTP_HEADERS_TIMEOUT_MS"]);
        expect((error as ConfigError).message).toMatch(/must not exceed HTTP_REQUEST_TIMEOUT_MS \(30000\)/);
    });
});
