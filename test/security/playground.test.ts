/**
 * Finding 1: unauthenticated injection through the playground. It was on whenever NODE_ENV was not exactly
 * `production` (unset, `Production`, `prod`), also next to a real Mendix app; its `POST /playground/notify`
 * relay needed no login and triggered any action with any `sender` with the server's own API key, and HOST
 * defaults to 0.0.0.0. A listener on `private-Sales.Order.number.1001` received 100 forged `approveOrder` events
 * with `sender: "admin"` from one anonymous request; with NODE_ENV=Production the generated key was printed.
 *
 * Now: the playground runs only in local demo mode (MENDIX_APP_URL unset, NODE_ENV unset, development or test
 * in any case; any other value is production), PLAYGROUND=true cannot switch it on next to a real app, and
 * its relay answers only direct requests from this machine that name it (Host, Origin).
 */
import http from "node:http";
import os from "node:os";
import type { Request } from "express";
import type PusherClient from "pusher-js";
import { afterEach, describe, expect, it } from "vitest";
import { createApp, type RunningApp } from "../../server/app";
import { loadConfig } from "../../server/config";
import { createLogger } from "../../server/logger";
import { createPlayground, relayRefusal } from "../../playground/playground";
import { createFakeMendix } from "../../playground/runtime";
import {
    API_KEY,
    BEARER,
    baseEnv,
    createListener,
    lineSink,
    processEnv,
    spawnServer,
    startFakeMendix,
    until,
    type FakeMendix,
    type ServerProcess
} from "../reliability/harness";
import { configError } from "../setup/config";

const ORDER_1 = "281474976710657";
const KEY_CHANNEL = "private-Sales.Order.number.1001";
const FORGED = { guid: ORDER_1, topicMode: "key", action: "approveOrder", sender: "admin", count: 100 };

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) {
        await step();
    }
});

/** The real app with the playground mount, on `host` (127.0.0.1 unless a test needs the wildcard). */
async function startWithPlayground(env: NodeJS.ProcessEnv, host = "127.0.0.1") {
    const logs: string[] = [];
    const config = loadConfig(baseEnv(env));
    let running: RunningApp | undefined = undefined;
    running = await createApp(config, {
        logger: createLogger("info", lineSink(logs)),
        extend: createPlayground({ mendix: createFakeMendix() }),
        accessCheckUrl: env.MENDIX_APP_URL === undefined ? () => running?.url : undefined
    });
    const url = await running.listen(0, host);
    const port = Number(new URL(url).port);
    cleanup.push(() => running!.close());
    return { running, config, port, url: `http://127.0.0.1:${port}`, logs };
}

/** A pusher-js listener subscribed (through the Bearer relay) to the demo key topic; counts what it receives. */
async function listenOn(
    port: number,
    channelName = KEY_CHANNEL,
    params: Record<string, string> = {}
): Promise<{ events: Array<{ event: string; data: unknown }> }> {
    const client: PusherClient = createListener({ url: `http://127.0.0.1:${port}`, port }, BEARER, {
        channelAuthorization: {
            endpoint: `http://127.0.0.1:${port}/rest/pusher/auth`,
            transport: "ajax",
            headers: BEARER,
            params
        }
    });
    cleanup.push(() => client.disconnect());
    const events: Array<{ event: string; data: unknown }> = [];
    await new Promise<void>((resolve, reject) => {
        const channel = client.subscribe(channelName);
        channel.bind("pusher:subscription_succeeded", () => resolve());
        channel.bind("pusher:subscription_error", (error: unknown) => reject(new Error(JSON.stringify(error))));
        channel.bind_global((event: string, data: unknown) => {
            if (!event.startsWith("pusher:")) events.push({ event, data });
        });
    });
    return { events };
}

/** Sends a real notification and waits for it: everything the listener got before it has arrived. */
async function settle(url: string, listener: { events: Array<{ event: string }> }): Promise<void> {
    const response = await fetch(`${url}/rest/pusher/notify`, {
        method: "POST",
        headers: { ...BEARER, "Content-Type": "application/json" },
        body: JSON.stringify({ topic: "Sales.Order.number.1001", action: "marker" })
    });
    expect(response.status).toBe(200);
    await until(() => listener.events.some(e => e.event === "marker"), 5_000, "the marker notification");
}

/** POST /playground/notify over node:http (so Host can be set), from `localAddress` if given. */
function relay(
    target: { host: string; port: number },
    headers: Record<string, string>,
    body: unknown = FORGED
): Promise<{ status: number; body: string }> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                host: target.host,
                port: target.port,
                method: "POST",
                path: "/playground/notify",
                headers: { "Content-Type": "application/json", "Content-Length": payload.length, ...headers },
                agent: false,
                timeout: 5_000
            },
            res => {
                let text = "";
                res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
            }
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end(payload);
    });
}

describe("finding 1: the playground exists only in local demo mode", () => {
    it("NODE_ENV is compared case-insensitively; any value but development or test is production", () => {
        expect(loadConfig({}).playground).toBe(true);
        for (const value of ["development", "Development", "TEST", "test"]) {
            const config = loadConfig({ NODE_ENV: value });
            expect(config.production, value).toBe(false);
            expect(config.playground, value).toBe(true);
        }
        for (const value of ["production", "Production", "PRODUCTION", "prod", "staging"]) {
            // Production needs the key and a real app: nothing is generated, nothing printed.
            expect(configError({ NODE_ENV: value }).variables, value).toEqual(["NOTIFY_API_KEY", "MENDIX_APP_URL"]);
            const config = loadConfig({ NODE_ENV: value, NOTIFY_API_KEY: API_KEY, MENDIX_APP_URL: "http://a:8080" });
            expect(config.production, value).toBe(true);
            expect(config.playground, value).toBe(false);
            if (value.toLowerCase() !== "production") {
                expect(config.warnings.join("\n"), value).toMatch(/is treated as production/);
            }
        }
    });

    it("MENDIX_APP_URL switches it off, and PLAYGROUND=true cannot switch it on next to a real app", () => {
        expect(loadConfig({ MENDIX_APP_URL: "http://a:8080" }).playground).toBe(false);
        const forced = loadConfig({ MENDIX_APP_URL: "http://a:8080", PLAYGROUND: "true" });
        expect(forced.playground).toBe(false);
        expect(forced.warnings.join("\n")).toMatch(/PLAYGROUND is ignored: .*never next to a real Mendix app/);
    });

    it("a real app's listener gets no forged events: /playground/notify does not exist next to MENDIX_APP_URL", async () => {
        const mendix: FakeMendix = await startFakeMendix();
        cleanup.push(() => mendix.close());
        const { url, port } = await startWithPlayground({ MENDIX_APP_URL: mendix.url, PLAYGROUND: "true" });
        const listener = await listenOn(port);
        const attack = await relay({ host: "127.0.0.1", port }, {});
        expect(attack.status).toBe(404);
        expect((await fetch(`${url}/`)).status).toBe(404);
        await settle(url, listener);
        expect(listener.events.filter(e => e.event === "approveOrder")).toEqual([]);
    });

    it("NODE_ENV=Production: the server refuses to start without NOTIFY_API_KEY and prints no key", async () => {
        let failure: unknown;
        let started: ServerProcess | undefined;
        try {
            started = await spawnServer(
                { PORT: "0", HOST: "127.0.0.1", NODE_ENV: "Production", LOG_FORMAT: "json" },
                { timeoutMs: 15_000 }
            );
            cleanup.push(() => {
                started?.child.kill("SIGKILL");
            });
        } catch (error) {
            failure = error;
        }
        expect(started?.lines.join("\n")).toBeUndefined();
        expect(String(failure)).toMatch(/NOTIFY_API_KEY: is required with NODE_ENV=Production \(production\)/);
        expect(String(failure)).not.toMatch(/generated/);
    });

    it("NODE_ENV=Production with its settings: no playground route, no key in the log", async () => {
        const mendix = await startFakeMendix();
        cleanup.push(() => mendix.close());
        const server: ServerProcess = await spawnServer(
            processEnv({ NODE_ENV: "Production", MENDIX_APP_URL: mendix.url, PLAYGROUND: "true", LOG_FORMAT: "json" })
        );
        cleanup.push(async () => {
            server.child.kill("SIGKILL");
            await server.exited;
        });
        expect((await fetch(`${server.url}/`)).status).toBe(404);
        expect((await relay({ host: "127.0.0.1", port: server.port }, {})).status).toBe(404);
        expect(server.lines.join("\n")).not.toContain(API_KEY);
        expect(server.lines.join("\n")).not.toMatch(/playground mounted/);
    });
});

describe("finding 1: in local demo mode the relay answers only this machine", () => {
    it("a direct request from this machine works (the playground's Notify form)", async () => {
        const { port } = await startWithPlayground({ PLAYGROUND: "true" });
        const listener = await listenOn(port);
        const answer = await relay(
            { host: "127.0.0.1", port },
            { Origin: `http://127.0.0.1:${port}` },
            {
                guid: ORDER_1,
                topicMode: "key",
                action: "refresh",
                sender: "john"
            }
        );
        expect(answer.status, answer.body).toBe(200);
        await until(() => listener.events.some(e => e.event === "refresh"), 5_000, "the relayed notification");
    });

    it("relays a toast to one user and a broadcast banner (the playground's user and broadcast targets)", async () => {
        const { port } = await startWithPlayground({ PLAYGROUND: "true" });
        // The relaying Mendix app's path (API key) names the user of a user channel.
        const mary = await listenOn(port, "private-user-mary", { user: "mary" });
        const banner = await listenOn(port, "private-broadcast-all");
        const origin = { Origin: `http://127.0.0.1:${port}` };
        const toast = await relay({ host: "127.0.0.1", port }, origin, { user: "mary", action: "toast", data: "Hi" });
        expect(toast.status, toast.body).toBe(200);
        expect(JSON.parse(toast.body)).toEqual({ triggered: 1, channels: ["private-user-mary"] });
        const all = await relay({ host: "127.0.0.1", port }, origin, { broadcast: "all", action: "banner" });
        expect(JSON.parse(all.body)).toEqual({ triggered: 1, channels: ["private-broadcast-all"] });
        await until(() => mary.events.some(e => e.event === "toast"), 5_000, "mary's toast");
        await until(() => banner.events.some(e => e.event === "banner"), 5_000, "the banner");
        const both = await relay({ host: "127.0.0.1", port }, origin, { user: "mary", broadcast: "all", action: "x" });
        expect(both.status).toBe(400);
        expect(both.body).toMatch(/send exactly one of guid, user or broadcast/);
    });

    it("refuses forwarded requests, foreign Host names (DNS rebinding) and other sites' pages: 403, nothing sent", async () => {
        const { url, port, logs } = await startWithPlayground({ PLAYGROUND: "true" });
        const listener = await listenOn(port);
        const attempts: Array<Record<string, string>> = [
            { "X-Forwarded-For": "203.0.113.7" },
            { Forwarded: "for=203.0.113.7" },
            { Host: `attacker.example:${port}` },
            { Host: `192.0.2.10:${port}` },
            { Origin: "http://attacker.example" },
            { Origin: "null" }
        ];
        for (const headers of attempts) {
            const answer = await relay({ host: "127.0.0.1", port }, headers);
            expect(answer.status, JSON.stringify(headers)).toBe(403);
            expect(JSON.parse(answer.body)).toMatchObject({
                error: { code: "forbidden", message: expect.stringMatching(/notify relay uses the server's API key/) }
            });
        }
        await settle(url, listener);
        expect(listener.events.filter(e => e.event === "approveOrder")).toEqual([]);
        expect(logs.join("\n")).toMatch(/playground notify relay refused a request/);
    });

    const external = Object.values(os.networkInterfaces())
        .flat()
        .find(entry => entry !== undefined && entry.family === "IPv4" && !entry.internal)?.address;

    it.runIf(external !== undefined)(
        "refuses a caller from another address (HOST=0.0.0.0, reached through this machine's network address)",
        async () => {
            const { url, port } = await startWithPlayground({ PLAYGROUND: "true" }, "0.0.0.0");
            const listener = await listenOn(port);
            // Host says 127.0.0.1, so only the TCP peer's address gives the caller away.
            const answer = await relay({ host: external!, port }, { Host: `127.0.0.1:${port}` });
            expect(answer.status, answer.body).toBe(403);
            expect(answer.body).toMatch(/only requests from this machine/);
            await settle(url, listener);
            expect(listener.events.filter(e => e.event === "approveOrder")).toEqual([]);
        }
    );

    it("the rule itself: loopback peer, no forwarding, loopback Host and Origin", () => {
        const request = (remoteAddress: string, headers: Record<string, string>) =>
            ({
                socket: { remoteAddress },
                get: (name: string) => headers[name.toLowerCase()]
            }) as unknown as Request;
        expect(relayRefusal(request("127.0.0.1", { host: "127.0.0.1:8080" }))).toBeNull();
        expect(relayRefusal(request("::1", { host: "[::1]:8080" }))).toBeNull();
        expect(relayRefusal(request("::ffff:127.0.0.1", { host: "localhost:8080" }))).toBeNull();
        expect(relayRefusal(request("203.0.113.9", { host: "127.0.0.1:8080" }))).toMatch(/this machine/);
        expect(relayRefusal(request("::ffff:203.0.113.9", { host: "localhost:8080" }))).toMatch(/this machine/);
        expect(relayRefusal(request("127.0.0.1", { host: "127.0.0.1.attacker.example:8080" }))).not.toBeNull();
        expect(
            relayRefusal(request("127.0.0.1", { host: "localhost:8080", origin: "http://localhost:9999" }))
        ).not.toBeNull();
    });
});
