/**
 * The operator console over HTTP against a real server: only with the token (HTTP Basic challenge for browsers),
 * a page without inline script or data under a strict CSP, figures that follow real actions, and never a
 * payload's data or sender. METRICS_CONSOLE=false keeps /metrics and drops the console.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BEARER, answer, connectListener, postJson, startServer, type Listener, type TestServer } from "../api/helpers";
import { CONSOLE_CSP } from "../../server/routes/observability";
import { METRICS_BEARER, METRICS_TOKEN, basic } from "./helpers";

const CHANNEL = "private-Sales.Order.281474976710657";
const SECRET_DATA = "secret-payload-data-7f3a";
const SECRET_SENDER = "alice.secret.sender";

describe("the operator console", () => {
    let server: TestServer;
    let listener: Listener;
    beforeAll(async () => {
        server = await startServer({ METRICS_TOKEN });
        listener = await connectListener(server.url);
        await listener.subscribe(CHANNEL);
    });
    afterAll(async () => {
        listener.disconnect();
        await server.close();
    });

    it("refuses every console path without the token, asking a browser for it (HTTP Basic)", async () => {
        for (const path of ["/console", "/console/data.json", "/console/console.js", "/console/console.css"]) {
            for (const headers of [{}, basic("not-the-token"), BEARER]) {
                const response = await fetch(`${server.url}${path}`, { headers });
                const { status, body } = await answer(response);
                expect(status, `${path} ${JSON.stringify(headers)}`).toBe(401);
                expect(["missing_metrics_token", "invalid_metrics_token"]).toContain(body.error.code);
                expect(response.headers.get("www-authenticate")).toMatch(/^Basic realm="notifylisten-metrics"/);
                expect(JSON.stringify(body)).not.toContain("notifylisten_");
            }
        }
    });

    it("serves a page without inline script or data, under a strict CSP, unframeable", async () => {
        const response = await fetch(`${server.url}/console`, { headers: basic(METRICS_TOKEN) });
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toMatch(/^text\/html/);
        expect(response.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
        expect(CONSOLE_CSP).toContain("script-src 'self'");
        expect(CONSOLE_CSP).not.toContain("unsafe-inline");
        expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
        expect(response.headers.get("x-frame-options")).toBe("DENY");
        expect(response.headers.get("cache-control")).toBe("no-store");
        const html = await response.text();
        const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
        expect(scripts).toHaveLength(1);
        expect(scripts[0][1]).toContain('src="/console/console.js"');
        expect(scripts[0][2].trim()).toBe("");
        expect(html).not.toContain("private-");

        const script = await fetch(`${server.url}/console/console.js`, { headers: basic(METRICS_TOKEN) });
        expect(script.status).toBe(200);
        expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
        expect(await script.text()).toContain("/console/data.json");
        const css = await fetch(`${server.url}/console/console.css`, { headers: basic(METRICS_TOKEN) });
        expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
        const unknown = await answer(fetch(`${server.url}/console/other.js`, { headers: basic(METRICS_TOKEN) }));
        expect(unknown.status).toBe(404);
    });

    it("shows the figures and the last notifications without their data or sender", async () => {
        const sent = await postJson(
            `${server.url}/rest/pusher/notify`,
            { topic: "Sales.Order.281474976710657", action: "refresh", data: SECRET_DATA, sender: SECRET_SENDER },
            BEARER
        );
        expect(sent.status).toBe(200);
        // The snapshot is cached for a second: wait for one that has the notification.
        let body: {
            connections: { current: number };
            subscriptions: Record<string, number>;
            notifications: { single: number; frames: number };
            recent: Array<Record<string, unknown>>;
            busiestChannels: Array<{ channel: string; subscribers: number }>;
        };
        let text = "";
        const deadline = Date.now() + 3_000;
        for (;;) {
            const response = await fetch(`${server.url}/console/data.json`, { headers: basic(METRICS_TOKEN) });
            expect(response.status).toBe(200);
            expect(response.headers.get("cache-control")).toBe("no-store");
            text = await response.text();
            body = JSON.parse(text);
            if (body.notifications.single === 1 || Date.now() > deadline) {
                break;
            }
            await new Promise(resolve => setTimeout(resolve, 100));
        }
        expect(body.connections.current).toBe(1);
        expect(body.subscriptions.private).toBe(1);
        expect(body.notifications).toMatchObject({ single: 1, frames: 1 });
        expect(body.busiestChannels).toEqual([{ channel: CHANNEL, subscribers: 1 }]);
        expect(body.recent).toHaveLength(1);
        expect(Object.keys(body.recent[0]).sort()).toEqual(["action", "bytes", "channel", "receivers", "time"]);
        expect(body.recent[0]).toMatchObject({ channel: CHANNEL, action: "refresh", receivers: 1 });
        expect(body.recent[0].bytes).toBeGreaterThan(SECRET_DATA.length);
        expect(text).not.toContain(SECRET_DATA);
        expect(text).not.toContain(SECRET_SENDER);
        // The Bearer token opens it as well (a script or curl).
        expect((await fetch(`${server.url}/console/data.json`, { headers: METRICS_BEARER })).status).toBe(200);
    });
});

describe("METRICS_CONSOLE=false", () => {
    it("serves /metrics and no console", async () => {
        const server = await startServer({ METRICS_TOKEN, METRICS_CONSOLE: "false" });
        try {
            expect((await fetch(`${server.url}/metrics`, { headers: METRICS_BEARER })).status).toBe(200);
            for (const path of ["/console", "/console/data.json", "/console/console.js"]) {
                const { status, body } = await answer(fetch(`${server.url}${path}`, { headers: METRICS_BEARER }));
                expect(status, path).toBe(404);
                expect(body.error.code).toBe("not_found");
            }
        } finally {
            await server.close();
        }
    });
});
