/**
 * No secret leaks: after a mixed workload (successes, every kind of refusal, broker API forgeries, WebSocket
 * refusals, broker faults, rate limits), no response body, response header, WebSocket frame or log line (pino
 * at trace level, captured through a custom destination stream) contains NOTIFY_API_KEY, BROKER_SECRET or
 * PUSHER_SECRET; neither does the output of the real process (start, requests, SIGTERM) nor the message of a
 * configuration error about those variables.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
    API_KEY,
    BEARER,
    BROKER,
    Evidence,
    GOOD_COOKIE,
    GOOD_CSRF,
    PUSHER,
    ROOT,
    SECRETS,
    postForm,
    postJson,
    processEnv,
    pusherHostEnv,
    request,
    spawnServer,
    startApp,
    startFakeMendix,
    startFakePusherApi,
    until,
    withBrokerRetry
} from "./harness";

const evidence = new Evidence();
const SESSION = { Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF };

afterAll(() => {
    console.log(
        `[reliability] secret scan: ${evidence.responses.length} responses, ${evidence.logs.length} log lines, ` +
            `${evidence.other.length} frames/outputs checked`
    );
});

describe("no secret in any response, frame or log line", () => {
    it("embedded broker at LOG_LEVEL=trace: a mixed workload leaks nothing", async () => {
        const mendix = await startFakeMendix();
        const app = await startApp(
            { MENDIX_APP_URL: mendix.url, LOG_LEVEL: "trace", RATE_LIMIT_AUTH: "20", RATE_LIMIT_NOTIFY: "20" },
            { evidence }
        );
        try {
            const url = app.url;
            await request(evidence, `${url}/rest/pusher/key`);
            await request(evidence, `${url}/openapi.json`);
            await request(evidence, `${url}/healthz`);
            await request(evidence, `${url}/readyz`);
            await request(evidence, `${url}/nothing-here`);
            const fields = { socket_id: "1.2", channel_name: "private-Sales.Order.1" };
            await postForm(evidence, `${url}/rest/pusher/auth`, fields, BEARER);
            await postForm(evidence, `${url}/rest/pusher/auth`, fields, SESSION);
            await postForm(evidence, `${url}/rest/pusher/auth`, fields, { Authorization: `Bearer ${API_KEY}x` });
            await postForm(evidence, `${url}/rest/pusher/auth`, { ...fields, socket_id: "1.2:private-x" }, BEARER);
            await postForm(
                evidence,
                `${url}/rest/pusher/auth`,
                { ...fields, channel_name: "private-Secret.X.1" },
                SESSION
            );
            mendix.mode = "error";
            await postForm(evidence, `${url}/rest/pusher/auth`, fields, SESSION);
            mendix.mode = "sessions";
            await postJson(
                evidence,
                `${url}/rest/pusher/notify`,
                { topic: "Sales.Order.1", action: "refresh" },
                BEARER
            );
            await postJson(
                evidence,
                `${url}/rest/pusher/notify`,
                { topic: "x", action: "refresh" },
                {
                    Authorization: `Bearer ${API_KEY.slice(0, -1)}`
                }
            );
            await postJson(evidence, `${url}/rest/pusher/notify`, { topic: "x", action: "pusher:x" }, BEARER);
            await postJson(evidence, `${url}/rest/pusher/notify`, "{ not json", BEARER);
            await postJson(
                evidence,
                `${url}/rest/pusher/notify/batch`,
                {
                    notifications: [
                        { topic: "A.B.1", action: "a" },
                        { topic: "A.B.2", action: "b" }
                    ]
                },
                BEARER
            );
            // Broker HTTP API with a forged signature and a wrong key.
            await request(
                evidence,
                `${url}/apps/${BROKER.appId}/events?auth_key=${BROKER.key}&auth_timestamp=1&auth_version=1.0&auth_signature=00`,
                {
                    method: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: '{"name":"a","data":"x","channel":"c"}'
                }
            );
            await request(evidence, `${url}/apps/${BROKER.appId}/channels?auth_key=wrong`);
            // A WebSocket subscription with a wrong signature, and one with the right one.
            const ws = new WebSocket(`ws://127.0.0.1:${app.port}/app/${BROKER.key}?protocol=7&client=t&version=1`);
            ws.on("message", (raw: Buffer) => evidence.other.push(raw.toString()));
            await until(() => evidence.other.some(f => f.includes("connection_established")), 5_000, "handshake");
            const socketId = (JSON.parse(JSON.parse(evidence.other.at(-1)!).data) as { socket_id: string }).socket_id;
            ws.send(
                JSON.stringify({ event: "pusher:subscribe", data: { channel: "private-a", auth: `${BROKER.key}:00` } })
            );
            const signed = await postForm(
                evidence,
                `${url}/rest/pusher/auth`,
                { socket_id: socketId, channel_name: "private-a" },
                BEARER
            );
            ws.send(
                JSON.stringify({
                    event: "pusher:subscribe",
                    data: { channel: "private-a", auth: (signed.json as { auth: string }).auth }
                })
            );
            ws.send("garbage");
            await until(() => evidence.other.filter(f => f.includes("private-a")).length >= 2, 5_000, "answers");
            ws.terminate();
            // Rate limits.
            for (let i = 0; i < 25; i++) {
                await postJson(evidence, `${url}/rest/pusher/notify`, { topic: "A.B.1", action: "a" }, BEARER);
            }
        } finally {
            await app.close();
            await mendix.close();
        }
        expect(evidence.responses.some(r => r.status === 429)).toBe(true);
        expect(evidence.logs.length).toBeGreaterThan(50);
        expect(evidence.logs.some(line => line.includes('"level":20'))).toBe(true);
        expect(evidence.leaks()).toEqual([]);
    });

    it("PUSHER_HOST mode with a failing Pusher API: errors and logs carry no secret", async () => {
        const fake = await startFakePusherApi();
        const app = await startApp(
            { ...pusherHostEnv(fake.port), LOG_LEVEL: "trace" },
            { evidence, ...withBrokerRetry({ attempts: 2, baseDelayMs: 10, timeoutMs: 200 }) }
        );
        try {
            const url = app.url;
            await request(evidence, `${url}/rest/pusher/key`);
            await request(evidence, `${url}/readyz`);
            await postForm(
                evidence,
                `${url}/rest/pusher/auth`,
                { socket_id: "1.2", channel_name: "private-a" },
                BEARER
            );
            for (const verdict of [500, 401, 503] as const) {
                fake.decide = () => verdict;
                await postJson(evidence, `${url}/rest/pusher/notify`, { topic: "A.B.1", action: "a" }, BEARER);
                await postJson(
                    evidence,
                    `${url}/rest/pusher/notify/batch`,
                    { notifications: [{ topic: "A.B.1", action: "a" }] },
                    BEARER
                );
            }
            fake.decide = () => "ok";
            await postJson(evidence, `${url}/rest/pusher/notify`, { topic: "A.B.1", action: "a" }, BEARER);
            const key = await request(evidence, `${url}/rest/pusher/key`);
            expect(key.json).toMatchObject({ key: PUSHER.key, cluster: "local" });
            expect(key.text).not.toContain(PUSHER.appId);
        } finally {
            await app.close();
            await fake.close();
        }
        expect(evidence.responses.some(r => r.status === 502)).toBe(true);
        expect(evidence.leaks()).toEqual([]);
    });

    it("the real process logs no secret from start to SIGTERM", async () => {
        const server = await spawnServer(processEnv({ LOG_LEVEL: "trace" }), { via: "node" });
        try {
            await request(evidence, `${server.url}/rest/pusher/key`);
            await postForm(
                evidence,
                `${server.url}/rest/pusher/auth`,
                { socket_id: "1.2", channel_name: "private-a" },
                BEARER
            );
            await postJson(evidence, `${server.url}/rest/pusher/notify`, { topic: "A.B.1", action: "a" }, BEARER);
            await postJson(
                evidence,
                `${server.url}/rest/pusher/notify`,
                { topic: "A.B.1", action: "a" },
                {
                    Authorization: "Bearer wrong"
                }
            );
            server.child.kill("SIGTERM");
            expect(await server.exited).toBe(0);
        } finally {
            if (server.child.exitCode === null) server.child.kill("SIGKILL");
        }
        evidence.other.push(...server.lines, ...server.stderr);
        expect(server.lines.join("\n")).toContain("stopped");
        expect(evidence.leaks().map(leak => leak.where.slice(0, 400))).toEqual([]);
    });

    it("configuration errors name the variables, never their values", async () => {
        const run = (env: Record<string, string>) =>
            new Promise<{ code: number | null; output: string }>(resolve => {
                const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
                    cwd: ROOT,
                    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
                    stdio: ["ignore", "pipe", "pipe"]
                });
                let output = "";
                child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
                child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
                child.on("exit", code => resolve({ code, output }));
            });
        const shortKey = "short-secret-key-value";
        const results = await Promise.all([
            run({ PORT: "0", NOTIFY_API_KEY: shortKey }),
            run({ PORT: "0", BROKER_SECRET: BROKER.secret }),
            run({ PORT: "0", PUSHER_SECRET: PUSHER.secret, PUSHER_KEY: "k" }),
            run({ PORT: "0", NODE_ENV: "production", NOTIFY_API_KEY: `${API_KEY} with space` })
        ]);
        for (const { code, output } of results) {
            expect(code).toBe(1);
            evidence.other.push(output);
        }
        expect(results[0].output).toMatch(/NOTIFY_API_KEY/);
        expect(results[1].output).toMatch(/BROKER_APP_ID/);
        expect(results[2].output).toMatch(/PUSHER_APP_ID/);
        expect(results.map(r => r.output).join("\n")).not.toContain(shortKey);
        expect(evidence.leaks()).toEqual([]);
        expect(Object.keys(SECRETS)).toEqual(["NOTIFY_API_KEY", "BROKER_SECRET", "PUSHER_SECRET"]);
        expect(path.isAbsolute(ROOT)).toBe(true);
    });
});
