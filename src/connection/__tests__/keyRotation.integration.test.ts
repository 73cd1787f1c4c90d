// @vitest-environment node
/**
 * The server refuses the app key, for real: real pusher-js against the REAL companion server and its embedded broker
 * on 127.0.0.1. First, the fake pusher of the unit tests must report a refused key exactly like pusher-js does (the
 * same `error` payload and state changes, also when `connect()` tries again). Then the real ConnectionManager keeps
 * a listener listening across a server restart with NEW broker credentials on the same port.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import Pusher from "pusher-js";
import { afterEach, describe, expect, it } from "vitest";
import { createApp, type RunningApp } from "../../../server/app";
import { loadConfig } from "../../../server/config";
import { FakePusher, refuseAllBut } from "../../__tests__/fakes";
import { createConnectionManager } from "../manager";
import type { ChannelListener, SubscriptionStatus } from "../status";
import { resolveServer } from "../../utils/endpoints";

const API_KEY = "key-rotation-test-api-key-0123456789abcdef";
const CREDENTIALS_A = {
    BROKER_APP_ID: "1001",
    BROKER_KEY: "rotationkeyaaaaaaaaaa",
    BROKER_SECRET: "secret-a-0123456789"
};
const CREDENTIALS_B = {
    BROKER_APP_ID: "1002",
    BROKER_KEY: "rotationkeybbbbbbbbbb",
    BROKER_SECRET: "secret-b-0123456789"
};

/** A Mendix access check that allows every channel. */
function startAccessCheck(): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => {
            res.writeHead(200, { "Content-Type": "application/json" });
            res.end(JSON.stringify({ user: "tester" }));
        });
    });
    return new Promise(resolve => {
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo;
            resolve({
                url: `http://127.0.0.1:${port}`,
                close: () =>
                    new Promise<void>(done => {
                        server.closeAllConnections();
                        server.close(() => done());
                    })
            });
        });
    });
}

async function startServer(
    credentials: typeof CREDENTIALS_A,
    accessCheckUrl: string,
    port = 0
): Promise<{ app: RunningApp; url: string; port: number }> {
    const config = loadConfig({
        NODE_ENV: "test",
        LOG_LEVEL: "silent",
        PLAYGROUND: "false",
        NOTIFY_API_KEY: API_KEY,
        CORS_ORIGINS: "*",
        ...credentials
    });
    const app = await createApp(config, { accessCheckUrl });
    const url = await app.listen(port, "127.0.0.1");
    return { app, url, port: Number(new URL(url).port) };
}

/** Polls `condition` every 20 ms for at most `timeout` ms. */
async function waitUntil(condition: () => boolean, timeout: number, what: string): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`Timed out after ${timeout} ms waiting for ${what}.`);
        }
        await new Promise(resolve => setTimeout(resolve, 20));
    }
}

type Recorded = [event: string, data: unknown];

/** Records a client's connection `error` and `state_change` events. */
function record(client: { connection: { bind(event: string, callback: (data: unknown) => void): unknown } }) {
    const events: Recorded[] = [];
    client.connection.bind("error", data => events.push(["error", JSON.parse(JSON.stringify(data)) as unknown]));
    client.connection.bind("state_change", data => events.push(["state_change", data]));
    return events;
}

/** Records a client's events while the server refuses it, it connects once more, and is refused again. */
async function refuseTwice(
    client: { connect(): void; connection: { bind(event: string, callback: (data: unknown) => void): unknown } },
    state: () => string
): Promise<Recorded[]> {
    const events = record(client);
    await waitUntil(() => state() === "disconnected", 5000, "the client to give up");
    client.connect();
    await waitUntil(() => events.length >= 5, 5000, "the second refusal");
    return events;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
        await cleanup();
    }
});

describe("a refused app key with real pusher-js and the embedded broker", () => {
    it("the fake pusher reports a refused key exactly like pusher-js 8 (error payload, then 'disconnected')", async () => {
        const access = await startAccessCheck();
        cleanups.push(() => access.close());
        const server = await startServer(CREDENTIALS_A, access.url);
        cleanups.push(() => server.app.close());

        const options = {
            cluster: "local",
            wsHost: "127.0.0.1",
            wsPort: server.port,
            forceTLS: false,
            enabledTransports: ["ws" as const]
        };
        // Both start connecting in their constructor; from then on they must report the same, also when connect()
        // tries again after the refusal.
        const real = new Pusher("wrongkey", options);
        cleanups.push(() => real.disconnect());
        const realEvents = await refuseTwice(real, () => real.connection.state);
        const fake = new FakePusher("wrongkey", options, true, { refuse: refuseAllBut(CREDENTIALS_A.BROKER_KEY) });
        const fakeEvents = await refuseTwice(fake, () => fake.state);

        const refusal: Recorded[] = [
            [
                "error",
                {
                    type: "WebSocketError",
                    error: { type: "PusherError", data: { code: 4001, message: "App key not found" } }
                }
            ],
            ["state_change", { previous: "connecting", current: "disconnected" }]
        ];
        const expected = [
            ...refusal,
            ["state_change", { previous: "disconnected", current: "connecting" }],
            ...refusal
        ];
        expect(realEvents).toEqual(expected);
        expect(fakeEvents).toEqual(expected);
    });

    it("keeps listening across a server restart with new broker credentials on the same port", async () => {
        const access = await startAccessCheck();
        cleanups.push(() => access.close());
        const first = await startServer(CREDENTIALS_A, access.url);
        const servers = [first];
        cleanups.push(() => Promise.all(servers.map(server => server.app.close())).then(() => undefined));

        const resolved = resolveServer(first.url, "http://app.test/");
        if (!resolved.ok) {
            throw new Error(resolved.message);
        }
        const keys: string[] = [];
        const manager = createConnectionManager({
            createPusher: (key, options) => {
                keys.push(key);
                return new Pusher(key, options);
            },
            getCsrfToken: () => "csrf-rotation-1",
            lingerMs: 20
        });
        cleanups.push(() => manager.close());
        const events: Array<{ action: string; data: unknown }> = [];
        const statuses: SubscriptionStatus[] = [];
        const listener: ChannelListener = {
            onEvent: (action, data) => events.push({ action, data }),
            onStatus: status => statuses.push(status)
        };
        const channel = "private-Sales.Order.281474976710657";
        manager.subscribe(resolved.endpoints, channel, listener);
        const subscribed = () => statuses[statuses.length - 1]?.state === "subscribed";
        await waitUntil(subscribed, 5000, "the first subscription");

        await first.app.close();
        statuses.length = 0;
        const second = await startServer(CREDENTIALS_B, access.url, first.port);
        servers.push(second);
        const back = Date.now();
        await waitUntil(subscribed, 10_000, "the subscription with the new key");
        console.log(`[key rotation, node] listening again ${Date.now() - back} ms after the server came back`);
        expect(keys).toEqual([CREDENTIALS_A.BROKER_KEY, CREDENTIALS_B.BROKER_KEY]);
        expect(statuses.filter(status => status.state === "error")).toEqual([]);

        const response = await fetch(`${second.url}/rest/pusher/notify`, {
            method: "POST",
            headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
            body: JSON.stringify({ topic: "Sales.Order.281474976710657", action: "refresh", data: "after rotation" })
        });
        expect(response.status).toBe(200);
        await waitUntil(() => events.length === 1, 5000, "the notification");
        expect(events[0]).toMatchObject({ action: "refresh", data: { data: "after rotation" } });
    });
});
