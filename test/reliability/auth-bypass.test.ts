/**
 * Channel authorization cannot be bypassed:
 *  - a signature only after a 200 `{ user }` from the Mendix access check, or with the right API key;
 *  - socket_id / channel_name injection (`1.1:private-x`, newlines, `private-a:private-b`, ...) is refused
 *    before any access check;
 *  - presence, encrypted and other non-`private-` channels are refused (the server signs only `private-`);
 *  - the broker refuses a subscription that carries another socket's (or another channel's) signature,
 *    from raw WebSockets and from real pusher-js clients, and such a client receives nothing;
 *  - rate limits answer 429 with Retry-After, also for API-key guessing, and X-Forwarded-For does not get
 *    around them when the proxy is not trusted.
 */
import type http from "node:http";
import PusherClient from "pusher-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
    API_KEY,
    BEARER,
    BROKER,
    GOOD_COOKIE,
    GOOD_CSRF,
    expectJsonError,
    expectedAuth,
    postForm,
    postJson,
    startApp,
    startFakeMendix,
    startHttpServer,
    until,
    type Answer,
    type AppUnderTest,
    type FakeMendix
} from "./harness";

const SESSION = { Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF };

function expectRefused(answer: Answer, status: number, code: string): void {
    expect(answer.status, answer.text).toBe(status);
    expect(expectJsonError(answer, "refusal")).toBe(code);
    expect(answer.text).not.toContain('"auth"');
}

describe("no signature without the access check's 200 or the API key", () => {
    type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
    const answers: Array<{ name: string; handler: Handler; status: number; code: string }> = [
        {
            name: "401 (no session)",
            handler: (_req, res) => res.writeHead(401).end(),
            status: 401,
            code: "not_authenticated"
        },
        {
            name: "403 (may not read the object)",
            handler: (_req, res) => res.writeHead(403).end(),
            status: 403,
            code: "forbidden"
        },
        {
            name: "404 (operation not published)",
            handler: (_req, res) => res.writeHead(404).end("Not Found"),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "500",
            handler: (_req, res) => res.writeHead(500).end("error"),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "200 with an HTML login page",
            handler: (_req, res) => res.writeHead(200, { "Content-Type": "text/html" }).end("<html>login</html>"),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "200 with JSON but no user",
            handler: (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}'),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "200 with a non-string user",
            handler: (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end('{"user":42}'),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "200 with an empty body",
            handler: (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end(),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "204",
            handler: (_req, res) => res.writeHead(204).end(),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "302 to the login page (must not be followed)",
            handler: (req, res) =>
                req.url === "/login"
                    ? res.writeHead(200, { "Content-Type": "application/json" }).end('{"user":"redirected"}')
                    : res.writeHead(302, { Location: "/login" }).end(),
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "an answer cut in the middle",
            handler: (_req, res) => {
                res.writeHead(200, { "Content-Type": "application/json", "Content-Length": "100" });
                res.write('{"user":"al');
                setTimeout(() => res.destroy(), 20);
            },
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "a connection reset",
            handler: (req, res) => {
                req.socket.destroy();
                void res;
            },
            status: 503,
            code: "access_check_unavailable"
        },
        {
            name: "no answer within MENDIX_TIMEOUT_MS",
            handler: () => undefined,
            status: 503,
            code: "access_check_unavailable"
        }
    ];

    let app: AppUnderTest;
    let current: Handler = (_req, res) => res.writeHead(500).end();
    let fake: Awaited<ReturnType<typeof startHttpServer>>;

    beforeAll(async () => {
        fake = await startHttpServer((req, res) => current(req, res));
        app = await startApp({ MENDIX_APP_URL: fake.url, MENDIX_TIMEOUT_MS: "300", RATE_LIMIT_AUTH: "100000" });
    });
    afterAll(async () => {
        await app.close();
        await fake.close();
    });

    for (const { name, handler, status, code } of answers) {
        it(`access check answering ${name} -> ${status} ${code}, form and JSON, never a signature`, async () => {
            current = handler;
            const fields = { socket_id: "123.456", channel_name: "private-Sales.Order.1" };
            expectRefused(await postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, SESSION), status, code);
            expectRefused(await postJson(app.evidence, `${app.url}/rest/pusher/auth`, fields, SESSION), status, code);
        });
    }

    it("the right API key signs even while the access check is down (server-to-server relay)", async () => {
        current = (_req, res) => res.writeHead(500).end();
        const answer = await postForm(
            app.evidence,
            `${app.url}/rest/pusher/auth`,
            { socket_id: "123.456", channel_name: "private-Sales.Order.1" },
            BEARER
        );
        expect(answer.status).toBe(200);
        expect(answer.json).toEqual({
            auth: expectedAuth(BROKER.key, BROKER.secret, "123.456", "private-Sales.Order.1"),
            catchup: { epoch: expect.any(String), seq: expect.any(Number) }
        });
    });

    it("no Mendix app configured at all -> 503, never a signature", async () => {
        const bare = await startApp({ MENDIX_APP_URL: "" });
        try {
            expectRefused(
                await postForm(
                    bare.evidence,
                    `${bare.url}/rest/pusher/auth`,
                    { socket_id: "1.2", channel_name: "private-a" },
                    SESSION
                ),
                503,
                "access_check_unavailable"
            );
        } finally {
            await bare.close();
        }
    });
});

describe("credentials and injection", () => {
    let app: AppUnderTest;
    let mendix: FakeMendix;

    beforeAll(async () => {
        mendix = await startFakeMendix();
        app = await startApp({ MENDIX_APP_URL: mendix.url, RATE_LIMIT_AUTH: "100000" });
    });
    afterAll(async () => {
        await app.close();
        await mendix.close();
    });

    const auth = (fields: Record<string, string>, headers: Record<string, string>) =>
        postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, headers);

    it("a wrong Bearer key is refused even with a valid session, and the access check is not asked", async () => {
        const before = mendix.checks.length;
        const fields = { socket_id: "1.2", channel_name: "private-Sales.Order.1" };
        for (const value of [
            "Bearer wrong",
            `Bearer ${API_KEY}x`,
            `Bearer ${API_KEY.slice(0, -1)}`,
            `Bearer ${API_KEY.toUpperCase()}`,
            `Bearer ${API_KEY} ${API_KEY}`,
            `Bearer ${API_KEY},${API_KEY}`,
            "Bearer",
            "bearer  "
        ]) {
            expectRefused(await auth(fields, { ...SESSION, Authorization: value }), 401, "invalid_api_key");
        }
        expect(mendix.checks.length).toBe(before);
        // Another scheme is no API key: it goes through the access check like a browser.
        const basic = await auth(fields, { Authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString("base64")}` });
        expectRefused(basic, 401, "not_authenticated");
        // The scheme is case-insensitive and surrounding blanks do not matter.
        const relaxed = await auth(fields, { Authorization: `bearer   ${API_KEY}  ` });
        expect(relaxed.status).toBe(200);
    });

    it("a valid session gets exactly the signature of its socket and channel; a forbidden topic none", async () => {
        const ok = await auth({ socket_id: "77.88", channel_name: "private-Sales.Order.9" }, SESSION);
        expect(ok.json).toEqual({
            auth: expectedAuth(BROKER.key, BROKER.secret, "77.88", "private-Sales.Order.9"),
            catchup: { epoch: expect.any(String), seq: expect.any(Number) }
        });
        const last = mendix.checks.at(-1)!;
        expect(last).toMatchObject({ channel: "private-Sales.Order.9", topic: "Sales.Order.9", csrf: GOOD_CSRF });
        expect(last.cookie).toContain("XASSESSIONID=good-session");
        expectRefused(
            await auth({ socket_id: "77.88", channel_name: "private-Secret.Order.9" }, SESSION),
            403,
            "forbidden"
        );
        expectRefused(
            await auth({ socket_id: "77.88", channel_name: "private-Sales.Order.9" }, { Cookie: GOOD_COOKIE }),
            401,
            "not_authenticated"
        );
    });

    const socketIds = [
        "1.1:private-x",
        "1.1\n",
        "1.1\r\nX-Injected: 1",
        "\n1.1",
        "1.1 ",
        " 1.1",
        "1.1.1",
        "-1.1",
        "+1.1",
        "1e3.1",
        "0x1.1",
        "١.١",
        "１.１",
        "1.",
        ".1",
        "1",
        "",
        "1.1;2.2",
        "1.1&channel_name=private-x",
        "1.1\u0000"
    ];
    const channels = [
        "private-a:private-b",
        "private-a\nprivate-b",
        "private-a\n",
        "private-a\r\n",
        "private-a b",
        "private-a\u0000",
        "private-",
        "private-" + "x".repeat(157),
        "private-über",
        "private-a/b",
        "private-a%0ab",
        "presence-user-mary",
        "presence-broadcast-all",
        "presence-encrypted-x",
        "private-user-=6Dary",
        "private-user-m=c3=a1",
        "private-broadcast-",
        "private-encrypted-Sales.Order.1",
        "private-encrypted-",
        "Sales.Order.1",
        "public-x",
        "PRIVATE-a",
        " private-a",
        "#private-a",
        "private-*",
        ""
    ];

    it("refuses every injected socket_id with 400 before asking anyone (Bearer and session)", async () => {
        const before = mendix.checks.length;
        for (const socketId of socketIds) {
            for (const headers of [BEARER, SESSION]) {
                expectRefused(
                    await auth({ socket_id: socketId, channel_name: "private-Sales.Order.1" }, headers),
                    400,
                    "invalid_request"
                );
                expectRefused(
                    await postJson(
                        app.evidence,
                        `${app.url}/rest/pusher/auth`,
                        { socket_id: socketId, channel_name: "private-Sales.Order.1" },
                        headers
                    ),
                    400,
                    "invalid_request"
                );
            }
        }
        expect(mendix.checks.length).toBe(before);
    });

    it("refuses injected, encrypted, malformed user, presence-of-user and non-private channel names with 400 (Bearer and session)", async () => {
        const before = mendix.checks.length;
        for (const channel of channels) {
            for (const headers of [BEARER, SESSION]) {
                expectRefused(await auth({ socket_id: "1.2", channel_name: channel }, headers), 400, "invalid_request");
            }
        }
        expect(mendix.checks.length).toBe(before);
    });

    it("refuses duplicated fields, non-string JSON values and prototype tricks", async () => {
        const raw = (body: string, type: string, headers: Record<string, string> = BEARER) =>
            fetch(`${app.url}/rest/pusher/auth`, {
                method: "POST",
                headers: { "Content-Type": type, ...headers },
                body
            }).then(async res => ({ status: res.status, text: await res.text() }));
        const form = "application/x-www-form-urlencoded";
        for (const body of [
            "socket_id=1.1&socket_id=2.2&channel_name=private-a",
            "socket_id=1.1&channel_name=private-a&channel_name=private-b",
            "socket_id[]=1.1&channel_name=private-a",
            "socket_id=1.1&channel_name[]=private-a",
            "__proto__[socket_id]=1.1&channel_name=private-a"
        ]) {
            const answer = await raw(body, form);
            expect(answer.status, body).toBe(400);
            expect(answer.text).not.toContain('"auth"');
        }
        for (const body of [
            '{"socket_id":1.1,"channel_name":"private-a"}',
            '{"socket_id":["1.1"],"channel_name":"private-a"}',
            '{"socket_id":"1.1","channel_name":["private-a"]}',
            '{"socket_id":{"toString":"1.1"},"channel_name":"private-a"}',
            '{"__proto__":{"socket_id":"1.1"},"channel_name":"private-a"}',
            '{"constructor":{"prototype":{"socket_id":"1.1"}},"channel_name":"private-a"}',
            '[{"socket_id":"1.1","channel_name":"private-a"}]'
        ]) {
            const answer = await raw(body, "application/json");
            expect(answer.status, body).toBe(400);
            expect(answer.text).not.toContain('"auth"');
        }
        // Nothing leaked into shared prototypes of this process (the server runs in it).
        expect(({} as Record<string, unknown>).socket_id).toBeUndefined();
        expect(Object.prototype.hasOwnProperty.call(Object.prototype, "socket_id")).toBe(false);
    });
});

describe("the broker refuses signatures of other sockets and channels", () => {
    let app: AppUnderTest;
    const clients: PusherClient[] = [];
    const sockets: WebSocket[] = [];

    beforeAll(async () => {
        app = await startApp({ RATE_LIMIT_AUTH: "100000" });
    });
    afterAll(async () => {
        clients.forEach(client => client.disconnect());
        sockets.forEach(socket => socket.terminate());
        await app.close();
    });

    /** A raw socket: returns its socket id and a function that waits for a frame on a channel. */
    async function rawSocket() {
        const ws = new WebSocket(`ws://127.0.0.1:${app.port}/app/${BROKER.key}?protocol=7&client=raw&version=1`);
        sockets.push(ws);
        const frames: Array<{ event: string; channel?: string; data: unknown }> = [];
        ws.on("message", (raw: Buffer) => {
            const frame = JSON.parse(raw.toString()) as { event: string; channel?: string; data: string };
            frames.push({ ...frame, data: JSON.parse(frame.data) as unknown });
        });
        await until(() => frames.some(f => f.event === "pusher:connection_established"), 5_000, "handshake");
        const socketId = (frames[0].data as { socket_id: string }).socket_id;
        const answerFor = async (channel: string) => {
            await until(() => frames.some(f => f.channel === channel), 5_000, `an answer for ${channel}`);
            return frames.find(f => f.channel === channel)!;
        };
        return { ws, socketId, frames, answerFor };
    }

    /** What the server signs for `socketId` on `channel` (relay path). */
    async function serverSignature(socketId: string, channel: string): Promise<string> {
        const answer = await postForm(
            app.evidence,
            `${app.url}/rest/pusher/auth`,
            { socket_id: socketId, channel_name: channel },
            BEARER
        );
        expect(answer.status).toBe(200);
        return (answer.json as { auth: string }).auth;
    }

    it("raw WebSocket: another socket's signature, another channel's, a mangled one -> 401; its own -> joined", async () => {
        const a = await rawSocket();
        const b = await rawSocket();
        const channel = "private-Sales.Order.42";
        const signatureOfA = await serverSignature(a.socketId, channel);
        const subscribe = (socket: typeof b, name: string, auth: string) =>
            socket.ws.send(JSON.stringify({ event: "pusher:subscribe", data: { channel: name, auth } }));

        const attempts: Array<[string, string]> = [
            ["signature of socket A", signatureOfA],
            ["signature of another channel", await serverSignature(b.socketId, "private-Sales.Order.43")],
            ["signature with another key", `otherkey:${signatureOfA.split(":")[1]}`],
            ["signature without key", signatureOfA.split(":")[1]],
            ["truncated signature", signatureOfA.slice(0, -2)],
            ["empty", ""]
        ];
        for (const [what, auth] of attempts) {
            const probe = `${channel}`;
            b.frames.length = 0;
            subscribe(b, probe, auth);
            const answer = await b.answerFor(probe);
            expect(answer.event, what).toBe("pusher:subscription_error");
            expect(answer.data, what).toMatchObject({ type: "AuthError", status: 401 });
        }
        // A presence channel is never signed by the server; a private signature does not open it.
        b.frames.length = 0;
        b.ws.send(
            JSON.stringify({
                event: "pusher:subscribe",
                data: { channel: "presence-Sales.Order.42", auth: signatureOfA, channel_data: '{"user_id":"x"}' }
            })
        );
        expect((await b.answerFor("presence-Sales.Order.42")).event).toBe("pusher:subscription_error");

        // Nothing published to the channel reaches B, while A (correctly joined) gets it.
        a.frames.length = 0;
        subscribe(a, channel, signatureOfA);
        expect((await a.answerFor(channel)).event).toBe("pusher_internal:subscription_succeeded");
        b.frames.length = 0;
        const notify = await postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify`,
            { topic: "Sales.Order.42", action: "refresh" },
            BEARER
        );
        expect(notify.status).toBe(200);
        await until(() => a.frames.some(f => f.event === "refresh"), 5_000, "A to receive the notification");
        expect(b.frames.filter(f => f.event === "refresh")).toEqual([]);

        // B with its own signature is let in.
        subscribe(b, channel, await serverSignature(b.socketId, channel));
        expect((await b.answerFor(channel)).event).toBe("pusher_internal:subscription_succeeded");
    });

    it("pusher-js: a client that presents another socket's signature is refused and receives nothing", async () => {
        const channel = "private-Sales.Order.7";
        const honest = new PusherClient(BROKER.key, {
            cluster: "local",
            wsHost: "127.0.0.1",
            wsPort: app.port,
            forceTLS: false,
            enabledTransports: ["ws"],
            disableStats: true,
            channelAuthorization: { endpoint: `${app.url}/rest/pusher/auth`, transport: "ajax", headers: BEARER }
        });
        clients.push(honest);
        const stolen: string[] = [];
        const honestChannel = honest.subscribe(channel);
        await new Promise<void>((resolve, reject) => {
            honestChannel.bind("pusher:subscription_succeeded", () => resolve());
            honestChannel.bind("pusher:subscription_error", (e: unknown) => reject(new Error(JSON.stringify(e))));
        });
        stolen.push(await serverSignature(honest.connection.socket_id, channel));

        const thief = new PusherClient(BROKER.key, {
            cluster: "local",
            wsHost: "127.0.0.1",
            wsPort: app.port,
            forceTLS: false,
            enabledTransports: ["ws"],
            disableStats: true,
            channelAuthorization: {
                customHandler: (_params, callback) => callback(null, { auth: stolen[0] })
            }
        });
        clients.push(thief);
        const received: unknown[] = [];
        const thiefChannel = thief.subscribe(channel);
        thiefChannel.bind("refresh", (data: unknown) => received.push(data));
        const refusal = await new Promise<unknown>((resolve, reject) => {
            thiefChannel.bind("pusher:subscription_succeeded", () => reject(new Error("the thief got in")));
            thiefChannel.bind("pusher:subscription_error", (error: unknown) => resolve(error));
        });
        expect(refusal).toMatchObject({ type: "AuthError", status: 401 });

        const honestGot = new Promise<unknown>(resolve => honestChannel.bind("refresh", resolve));
        await postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify`,
            { topic: "Sales.Order.7", action: "refresh" },
            BEARER
        );
        expect(await honestGot).toMatchObject({ entity: "Sales.Order", guid: "7" });
        await new Promise(resolve => setTimeout(resolve, 100));
        expect(received).toEqual([]);
        expect(thiefChannel.subscribed).toBe(false);
    });

    it("a signature does not survive a reconnect: the new socket id needs a new one", async () => {
        const first = await rawSocket();
        const channel = "private-Sales.Order.8";
        const signature = await serverSignature(first.socketId, channel);
        first.ws.close();
        const second = await rawSocket();
        expect(second.socketId).not.toBe(first.socketId);
        second.ws.send(JSON.stringify({ event: "pusher:subscribe", data: { channel, auth: signature } }));
        expect((await second.answerFor(channel)).data).toMatchObject({ status: 401 });
    });
});

describe("rate limits", () => {
    it("browser auth: 429 rate_limited with Retry-After once the limit is used, also for API-key guessing", async () => {
        const mendix = await startFakeMendix();
        const app = await startApp({ MENDIX_APP_URL: mendix.url, RATE_LIMIT_AUTH: "5", TRUST_PROXY: "false" });
        try {
            const fields = { socket_id: "1.2", channel_name: "private-Sales.Order.1" };
            const statuses: number[] = [];
            for (let i = 0; i < 6; i++) {
                statuses.push((await postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, SESSION)).status);
            }
            // The limit counts per Mendix session.
            expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
            // Guessing keys counts per address (a guesser could invent a session per guess), and rotating
            // X-Forwarded-For (not trusted here) does not get more tries.
            const guesses: Answer[] = [];
            for (let i = 0; i < 15; i++) {
                guesses.push(
                    await postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, {
                        Authorization: `Bearer guess-${i}`,
                        Cookie: `XASSESSIONID=invented-${i}`,
                        "X-Forwarded-For": `10.0.0.${i}`
                    })
                );
            }
            expect(guesses.slice(0, 5).map(answer => answer.status)).toEqual([401, 401, 401, 401, 401]);
            for (const answer of guesses.slice(5)) {
                expectRefused(answer, 429, "rate_limited");
                const retryAfter = Number(answer.headers.get("retry-after"));
                expect(retryAfter).toBeGreaterThan(0);
                expect(retryAfter).toBeLessThanOrEqual(60);
                expect((answer.json as { error: { details: { retryAfter: number } } }).error.details.retryAfter).toBe(
                    retryAfter
                );
            }
            // The right key (the Mendix app relaying for all its users) is not limited.
            const relay = await postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, BEARER);
            expect(relay.status).toBe(200);
        } finally {
            await app.close();
            await mendix.close();
        }
    });

    it("notify: 429 rate_limited with Retry-After; concurrent bursts get exactly the limit", async () => {
        const app = await startApp({ RATE_LIMIT_NOTIFY: "10", TRUST_PROXY: "false" });
        try {
            const body = { topic: "Sales.Order.1", action: "refresh" };
            const answers = await Promise.all(
                Array.from({ length: 30 }, () => postJson(app.evidence, `${app.url}/rest/pusher/notify`, body, BEARER))
            );
            const ok = answers.filter(a => a.status === 200).length;
            const limited = answers.filter(a => a.status === 429);
            expect(ok).toBe(10);
            expect(limited).toHaveLength(20);
            for (const answer of limited) {
                expectRefused(answer, 429, "rate_limited");
                expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
            }
            // Wrong keys count too: no unlimited key guessing on notify.
            const guess = await postJson(app.evidence, `${app.url}/rest/pusher/notify`, body, {
                Authorization: "Bearer guess"
            });
            expectRefused(guess, 429, "rate_limited");
        } finally {
            await app.close();
        }
    });
});
