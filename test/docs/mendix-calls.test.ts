/**
 * The HTTP calls the setup guide tells a Mendix modeller to build, replayed against the real server:
 * the Notify request of `SUB_Notify` (from the JSON structure snippet in docs/module.md), the relays of
 * topology B (`PRS_PusherKey`, `PRS_PusherAuth` with the form from docs/topologies.md), the key behind a
 * proxy (topology A) and the access check contract of docs/access-check.md. A real pusher-js client
 * receives what Notify sends, so the payload the docs describe is the payload listeners get.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import Pusher from "pusher-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type RunningApp } from "../../server/app";
import { loadConfig } from "../../server/config";
import { createLogger } from "../../server/logger";
import { ACCESS_CHECK_PATH } from "../../server/mendix/access";

const DOCS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs");
const readDoc = (name: string): string => readFileSync(path.join(DOCS_DIR, name), "utf8");

/** The development value of the constant `NotifyListen.ApiKey` in docs/module.md. */
function documentedApiKey(): string {
    const row = readDoc("module.md")
        .split("\n")
        .find(line => line.startsWith("| `ApiKey`"));
    const key = row?.split("|")[3]?.trim().replace(/`/g, "");
    expect(key, "docs/module.md lists the constant ApiKey with a development value").toBeTruthy();
    return key!;
}

/** The JSON snippet of a JSON structure in docs/module.md's table. */
function documentedSnippet(name: string): Record<string, unknown> {
    const row = readDoc("module.md")
        .split("\n")
        .find(line => line.startsWith(`| \`${name}\``));
    const snippet = row?.split("|")[2]?.trim().replace(/^`|`$/g, "");
    expect(snippet, `docs/module.md has the snippet of ${name}`).toBeTruthy();
    return JSON.parse(snippet!) as Record<string, unknown>;
}

/** The example form body of the pusher-js auth request in docs/topologies.md. */
function documentedAuthForm(): URLSearchParams {
    const match = /`(socket_id=[^`]+)`/.exec(readDoc("topologies.md"));
    expect(match, "docs/topologies.md shows the form pusher-js posts").not.toBeNull();
    return new URLSearchParams(match![1]);
}

const BROKER = { BROKER_APP_ID: "4242", BROKER_KEY: "docs-broker-key", BROKER_SECRET: "docs-broker-secret-0123456789" };

interface Started {
    app: RunningApp;
    url: string;
}

async function start(env: NodeJS.ProcessEnv): Promise<Started> {
    const config = loadConfig({ PLAYGROUND: "false", LOG_LEVEL: "silent", ...BROKER, ...env });
    const app = await createApp(config, { logger: createLogger("silent") });
    const url = await app.listen(0, "127.0.0.1");
    return { app, url };
}

async function call(
    url: string,
    init: RequestInit = {}
): Promise<{ status: number; body: { [key: string]: unknown; error?: { code?: string } } }> {
    const response = await fetch(url, init);
    const text = await response.text();
    return { status: response.status, body: text === "" ? {} : (JSON.parse(text) as { error?: { code?: string } }) };
}

async function until(check: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 10));
    }
}

describe("the Mendix side of the guide against the real server", () => {
    const apiKey = documentedApiKey();
    const bearer = `Bearer ${apiKey}`;
    const notifyBody = documentedSnippet("JSON_NotifyRequest");
    const topic = String(notifyBody.topic);
    const channel = `private-${topic}`;
    let server: Started;
    let client: Pusher | undefined;
    const received: Array<{ action: string; payload: Record<string, unknown> }> = [];

    beforeAll(async () => {
        server = await start({ NOTIFY_API_KEY: apiKey });
        // A listener that authorizes exactly like PRS_PusherAuth relays: form body + Bearer key.
        const key = await call(`${server.url}/rest/pusher/key`);
        client = new Pusher(String(key.body.key), {
            cluster: String(key.body.cluster),
            wsHost: String(key.body.wsHost),
            wsPort: Number(key.body.wsPort),
            forceTLS: key.body.forceTLS === true,
            enabledTransports: ["ws"],
            disableStats: true,
            channelAuthorization: {
                endpoint: `${server.url}/rest/pusher/auth`,
                transport: "ajax",
                headers: { Authorization: bearer }
            }
        });
        const subscription = client.subscribe(channel);
        let subscribed = false;
        subscription.bind("pusher:subscription_succeeded", () => {
            subscribed = true;
        });
        subscription.bind_global((action: string, payload: unknown) => {
            if (!action.startsWith("pusher:")) {
                received.push({ action, payload: payload as Record<string, unknown> });
            }
        });
        await until(() => subscribed, `the subscription to ${channel}`);
    });

    afterAll(async () => {
        client?.disconnect();
        await server?.app.close();
    });

    it("SUB_Notify's request reaches listeners with the documented payload", async () => {
        const answer = await call(`${server.url}/rest/pusher/notify`, {
            method: "POST",
            headers: { Authorization: bearer, "Content-Type": "application/json" },
            body: JSON.stringify(notifyBody)
        });
        expect(answer).toEqual({ status: 200, body: { triggered: 1, channels: [channel] } });
        await until(() => received.length === 1, "the notification");
        const [event] = received.splice(0);
        expect(event.action).toBe(notifyBody.action);
        // A key topic carries no entity or GUID (docs/security.md).
        expect(event.payload).toMatchObject({ entity: "", guid: "", sender: notifyBody.sender, data: notifyBody.data });
        expect(new Date(String(event.payload.changedDate)).toISOString()).toBe(event.payload.changedDate);
    });

    it("accepts empty attributes exported as null (docs/module.md)", async () => {
        const answer = await call(`${server.url}/rest/pusher/notify`, {
            method: "POST",
            headers: { Authorization: bearer, "Content-Type": "application/json" },
            body: JSON.stringify({ ...notifyBody, sender: null, data: null })
        });
        expect(answer.status).toBe(200);
        await until(() => received.length === 1, "the notification");
        const [event] = received.splice(0);
        expect(event.payload.sender).toBe("");
        expect(event.payload).not.toHaveProperty("data");
    });

    it("answers the status codes of the Notify error table", async () => {
        const notify = (headers: Record<string, string>, body: string) =>
            call(`${server.url}/rest/pusher/notify`, { method: "POST", headers, body });
        const json = JSON.stringify(notifyBody);
        expect((await notify({ "Content-Type": "application/json" }, json)).body.error?.code).toBe("missing_api_key");
        const wrong = await notify({ Authorization: "Bearer not-the-key", "Content-Type": "application/json" }, json);
        expect([wrong.status, wrong.body.error?.code]).toEqual([401, "invalid_api_key"]);
        const noType = await notify({ Authorization: bearer, "Content-Type": "text/plain" }, json);
        expect([noType.status, noType.body.error?.code]).toEqual([415, "unsupported_media_type"]);
        const badTopic = await notify(
            { Authorization: bearer, "Content-Type": "application/json" },
            JSON.stringify({ ...notifyBody, topic: "Sales Order 42" })
        );
        expect([badTopic.status, badTopic.body.error?.code]).toEqual([400, "invalid_request"]);
    });

    it("shows why a string template is unsafe (docs/notify.md)", async () => {
        const template = (data: string) => `{"topic":"${topic}","action":"refresh","data":"${data}"}`;
        const headers = { Authorization: bearer, "Content-Type": "application/json" };
        const quote = await call(`${server.url}/rest/pusher/notify`, {
            method: "POST",
            headers,
            body: template('say "hi"')
        });
        expect([quote.status, quote.body.error?.code]).toEqual([400, "invalid_json"]);
        const injected = await call(`${server.url}/rest/pusher/notify`, {
            method: "POST",
            headers,
            body: template('x","topic":"Other.Topic')
        });
        expect(injected).toEqual({ status: 200, body: { triggered: 1, channels: ["private-Other.Topic"] } });
    });

    it("signs the form PRS_PusherAuth relays with the Bearer key", async () => {
        const form = documentedAuthForm();
        const answer = await call(`${server.url}/rest/pusher/auth`, {
            method: "POST",
            headers: { Authorization: bearer, "Content-Type": "application/x-www-form-urlencoded" },
            body: `socket_id=${encodeURIComponent(form.get("socket_id")!)}&channel_name=${encodeURIComponent(form.get("channel_name")!)}`
        });
        const signature = createHmac("sha256", BROKER.BROKER_SECRET)
            .update(`${form.get("socket_id")}:${form.get("channel_name")}`)
            .digest("hex");
        expect(answer).toEqual({
            status: 200,
            body: {
                auth: `${BROKER.BROKER_KEY}:${signature}`,
                catchup: { epoch: expect.any(String), seq: expect.any(Number) }
            }
        });
    });

    it("never signs a browser request without an access check", async () => {
        const form = documentedAuthForm();
        const answer = await call(`${server.url}/rest/pusher/auth`, {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: form.toString()
        });
        expect([answer.status, answer.body.error?.code]).toEqual([503, "access_check_unavailable"]);
    });

    it("tells browsers the proxy's public address behind a trusted proxy (topology A)", async () => {
        const answer = await call(`${server.url}/rest/pusher/key`, {
            headers: { "X-Forwarded-Host": "app.example.com", "X-Forwarded-Proto": "https" }
        });
        expect(answer).toEqual({
            status: 200,
            body: { key: BROKER.BROKER_KEY, cluster: "local", wsHost: "app.example.com", wsPort: 443, forceTLS: true }
        });
    });
});

describe("topology B: the key PRS_PusherKey relays", () => {
    it("uses WS_HOST, WS_PORT and WS_TLS and never reveals the secret", async () => {
        const server = await start({
            NOTIFY_API_KEY: documentedApiKey(),
            WS_HOST: "notify.example.com",
            WS_PORT: "443",
            WS_TLS: "true"
        });
        try {
            const answer = await call(`${server.url}/rest/pusher/key`);
            expect(answer).toEqual({
                status: 200,
                body: {
                    key: BROKER.BROKER_KEY,
                    cluster: "local",
                    wsHost: "notify.example.com",
                    wsPort: 443,
                    forceTLS: true
                }
            });
            expect(JSON.stringify(answer.body)).not.toContain(BROKER.BROKER_SECRET);
        } finally {
            await server.app.close();
        }
    });
});

describe("topology A: the access check contract of docs/access-check.md", () => {
    let mendix: http.Server;
    let mendixUrl: string;
    let answerWith: "modelled" | 401 | 404 = "modelled";
    const seen: Array<{ cookie?: string; csrf?: string; body: unknown }> = [];
    let server: Started;

    beforeAll(async () => {
        // PRS_Access as modelled in the guide: 200 {"user"} for the order the user may read, 403 otherwise.
        const app = express();
        app.post(ACCESS_CHECK_PATH, express.json(), (req, res) => {
            seen.push({ cookie: req.get("cookie"), csrf: req.get("x-csrf-token"), body: req.body });
            if (answerWith !== "modelled") {
                res.status(answerWith).end();
                return;
            }
            if ((req.body as { topic?: string }).topic === "Sales.Order.number.42") {
                res.json({ user: "john" });
            } else {
                res.status(403).json({
                    error: { code: "forbidden", message: "You may not listen to this object." }
                });
            }
        });
        mendix = http.createServer(app);
        await new Promise<void>(resolve => mendix.listen(0, "127.0.0.1", resolve));
        mendixUrl = `http://127.0.0.1:${(mendix.address() as AddressInfo).port}`;
        server = await start({ NOTIFY_API_KEY: documentedApiKey(), MENDIX_APP_URL: mendixUrl });
    });

    afterAll(async () => {
        await server?.app.close();
        await new Promise(resolve => mendix?.close(resolve));
    });

    const browserAuth = (channel: string) =>
        call(`${server.url}/rest/pusher/auth`, {
            method: "POST",
            headers: {
                "Content-Type": "application/x-www-form-urlencoded",
                Cookie: "XASSESSIONID=session-of-john",
                "X-Csrf-Token": "csrf-of-john"
            },
            body: new URLSearchParams({ socket_id: "1234.5678", channel_name: channel }).toString()
        });

    it("forwards the session and signs on 200", async () => {
        answerWith = "modelled";
        const answer = await browserAuth("private-Sales.Order.number.42");
        expect(answer.status).toBe(200);
        expect(String(answer.body.auth)).toMatch(new RegExp(`^${BROKER.BROKER_KEY}:[0-9a-f]{64}$`));
        expect(seen.at(-1)).toEqual({
            cookie: "XASSESSIONID=session-of-john",
            csrf: "csrf-of-john",
            body: { channel: "private-Sales.Order.number.42", topic: "Sales.Order.number.42", kind: "object" }
        });
    });

    it("maps 403, 401 and 404 as the table says", async () => {
        answerWith = "modelled";
        const refused = await browserAuth("private-Sales.Order.number.43");
        expect([refused.status, refused.body.error?.code]).toEqual([403, "forbidden"]);
        answerWith = 401;
        const anonymous = await browserAuth("private-Sales.Order.number.42");
        expect([anonymous.status, anonymous.body.error?.code]).toEqual([401, "not_authenticated"]);
        answerWith = 404;
        const unpublished = await browserAuth("private-Sales.Order.number.42");
        expect([unpublished.status, unpublished.body.error?.code]).toEqual([503, "access_check_unavailable"]);
    });
});
