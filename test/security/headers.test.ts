/**
 * Finding 6: no `X-Content-Type-Options`, CSP or frame protection on the playground, and broker errors echoed
 * raw input as `text/plain` (`Unknown app id <img src=x onerror=alert(1)>`).
 *
 * Now: `nosniff` on every answer (also the broker's, the refused upgrades' and Node's own 400/408), the
 * playground page with a Content Security Policy that allows only itself, its two inline scripts by hash and
 * its WebSocket, and forbids framing; broker errors say what is wrong without the input. (That the page still
 * works in Chromium under this policy: test/e2e/security-headers.test.ts.)
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createApp, type RunningApp } from "../../server/app";
import { signApiRequest } from "../../server/broker/signature";
import { loadConfig } from "../../server/config";
import { createLogger } from "../../server/logger";
import { inlineScripts } from "../../playground/page";
import { createPlayground } from "../../playground/playground";
import { createFakeMendix } from "../../playground/runtime";
import { BROKER, baseEnv, lineSink } from "../reliability/harness";
import { openPusherSocket, pusherUrl } from "./helpers";

const MARKUP = "<img src=x onerror=alert(1)>";

let running: RunningApp | undefined;
afterEach(async () => {
    await running?.close();
    running = undefined;
});

/** The app in local demo mode (playground mounted), with the suite's broker credentials. */
async function startDemo(): Promise<{ url: string; port: number }> {
    const config = loadConfig(baseEnv({ PLAYGROUND: "true" }));
    const app: RunningApp = await createApp(config, {
        logger: createLogger("info", lineSink([])),
        extend: createPlayground({ mendix: createFakeMendix() }),
        accessCheckUrl: () => app.url
    });
    running = app;
    const url = await app.listen(0, "127.0.0.1");
    return { url, port: Number(new URL(url).port) };
}

/** Writes raw bytes on a new connection and returns everything the server answers until it closes. */
function raw(port: number, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1");
        let answer = "";
        socket.on("data", chunk => (answer += chunk.toString("latin1")));
        socket.on("close", () => resolve(answer));
        socket.on("error", reject);
        socket.setTimeout(5_000, () => socket.destroy());
        socket.end(text);
    });
}

function signedEventsPath(appId: string, body: string): string {
    const path = `/apps/${appId}/events`;
    const query = signApiRequest({ key: BROKER.key, secret: BROKER.secret, method: "POST", path, body });
    return `${path}?${query}`;
}

describe("finding 6: X-Content-Type-Options on every answer", () => {
    it("API, health, OpenAPI, 404, CORS preflight, broker HTTP API and playground answers carry nosniff", async () => {
        const { url } = await startDemo();
        const requests: Array<[string, string, RequestInit?]> = [
            ["GET", "/healthz"],
            ["GET", "/readyz"],
            ["GET", "/rest/pusher/key"],
            ["GET", "/openapi.json"],
            ["GET", "/no/such/page"],
            ["POST", "/rest/pusher/auth", { headers: { "Content-Type": "application/json" }, body: "{}" }],
            ["POST", "/rest/pusher/notify", { headers: { "Content-Type": "application/json" }, body: "{}" }],
            [
                "OPTIONS",
                "/rest/pusher/auth",
                { headers: { Origin: "https://x.example", "Access-Control-Request-Method": "POST" } }
            ],
            ["POST", `/apps/${encodeURIComponent(MARKUP)}/events`, { body: "{}" }],
            ["GET", "/apps/424242/channels"],
            ["GET", "/"],
            ["GET", "/playground/playground.css"],
            ["GET", "/playground/vendor/app.js"],
            ["GET", "/playground/vendor/nope.js"],
            ["POST", "/playground/notify", { headers: { "Content-Type": "application/json" }, body: "{}" }]
        ];
        for (const [method, path, init] of requests) {
            const response = await fetch(`${url}${path}`, { method, ...init });
            await response.arrayBuffer();
            expect(response.headers.get("x-content-type-options"), `${method} ${path} (${response.status})`).toBe(
                "nosniff"
            );
        }
    });

    it("also the answers written below Express: refused upgrades and unparsable requests", async () => {
        const { port } = await startDemo();
        const upgrade = await raw(
            port,
            "GET /not-an-app HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        expect(upgrade).toMatch(/^HTTP\/1\.1 400 /);
        expect(upgrade).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
        const garbage = await raw(port, "NOT HTTP AT ALL\r\n\r\n");
        expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
        expect(garbage).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
        expect(JSON.parse(garbage.split("\r\n\r\n")[1])).toMatchObject({ error: { code: "invalid_request" } });
    });
});

describe("finding 6: the playground page's Content Security Policy", () => {
    it("allows only itself, its inline scripts by hash and its WebSocket, and forbids framing", async () => {
        const { url, port } = await startDemo();
        const response = await fetch(`${url}/`);
        const html = await response.text();
        expect(response.headers.get("x-frame-options")).toBe("DENY");
        const policy = response.headers.get("content-security-policy");
        expect(policy).not.toBeNull();
        const directives = new Map(
            policy!.split(";").map(part => {
                const [name, ...values] = part.trim().split(/\s+/);
                return [name, values] as const;
            })
        );
        expect(directives.get("default-src")).toEqual(["'self'"]);
        expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
        expect(directives.get("object-src")).toEqual(["'none'"]);
        expect(directives.get("base-uri")).toEqual(["'none'"]);
        const scripts = inlineScripts(html);
        expect(scripts.length).toBe(2); // the import map and window.mx
        expect(directives.get("script-src")).toEqual([
            "'self'",
            ...scripts.map(script => `'sha256-${createHash("sha256").update(script).digest("base64")}'`)
        ]);
        expect(directives.get("connect-src")).toEqual(["'self'", `ws://127.0.0.1:${port}`, `wss://127.0.0.1:${port}`]);
        expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    });
});

describe("finding 6: broker errors name the problem without echoing input", () => {
    it("HTTP events API: unknown app id, bad channel names and duplicate parameters", async () => {
        const { url } = await startDemo();
        const unknownApp = await fetch(`${url}/apps/${encodeURIComponent(MARKUP)}/events`, {
            method: "POST",
            body: "{}"
        });
        expect(unknownApp.status).toBe(404);
        expect(unknownApp.headers.get("content-type")).toMatch(/^text\/plain/);
        expect(await unknownApp.text()).toBe("Unknown app id");

        const body = JSON.stringify({ name: "refresh", channels: [MARKUP], data: "{}" });
        const badChannel = await fetch(`${url}${signedEventsPath(BROKER.appId, body)}`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body
        });
        const text = await badChannel.text();
        expect(badChannel.status).toBe(400);
        expect(text).toMatch(/contains characters that are not allowed/);
        expect(text).not.toContain("<");

        const duplicate = await fetch(
            `${url}/apps/${BROKER.appId}/channels?${encodeURIComponent(MARKUP)}=1&${encodeURIComponent(MARKUP)}=2`
        );
        expect(duplicate.status).toBe(400);
        expect(await duplicate.text()).toBe("Duplicate query parameter");
    });

    it("WebSocket: unknown key, bad protocol, unknown events and bad channel names", async () => {
        const { port } = await startDemo();
        const wrongKey = await openPusherSocket(pusherUrl(port, MARKUP));
        expect(wrongKey).toMatchObject({ kind: "refused", code: 4001, message: "App key not found" });

        const badProtocol = await openPusherSocket(
            `ws://127.0.0.1:${port}/app/${BROKER.key}?protocol=${encodeURIComponent(MARKUP)}`
        );
        expect(badProtocol).toMatchObject({ kind: "refused", code: 4007 });
        expect(badProtocol.kind === "refused" && badProtocol.message).not.toContain("<");

        const socket = await openPusherSocket(pusherUrl(port));
        if (socket.kind !== "established") throw new Error(JSON.stringify(socket));
        socket.socket.send({ event: MARKUP, data: {} });
        const unknown = await socket.socket.next(frame => frame.event === "pusher:error");
        expect(JSON.stringify(unknown.data)).not.toContain("<");
        socket.socket.send({ event: "pusher:subscribe", data: { channel: `private-${MARKUP}` } });
        const refused = await socket.socket.next(frame => frame.event === "pusher:subscription_error");
        expect((refused.data as { error: string }).error).toMatch(/contains characters that are not allowed/);
        expect((refused.data as { error: string }).error).not.toContain("<");
        await socket.socket.close();
    });
});
