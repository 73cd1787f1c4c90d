/**
 * The broker's Pusher HTTP API: signature checks (wrong signature, wrong body_md5, stale timestamp, unknown
 * app id and key), field validation and the answers the `pusher` SDK expects.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import express from "express";
import http from "http";
import type { AddressInfo } from "net";
import { createBroker, randomCredentials, signApiRequest } from "../../server/broker";
import {
    type BrokerServer,
    connectClient,
    createSdk,
    nextEvent,
    type PusherClient,
    silentLogger,
    startBrokerServer,
    subscribe
} from "./helpers";

let broker: BrokerServer;

beforeAll(async () => {
    broker = await startBrokerServer();
});

afterAll(async () => {
    await broker.close();
});

interface SignedOptions {
    appId?: string;
    key?: string;
    secret?: string;
    timestamp?: number;
    /** Body used for the signature and body_md5 when it differs from the one sent. */
    signedBody?: string;
    method?: "GET" | "POST";
    params?: Record<string, string>;
}

/** Sends a request signed like the SDK, with knobs to break one part at a time. */
async function signedRequest(path: string, body: unknown, options: SignedOptions = {}) {
    const method = options.method ?? "POST";
    const fullPath = `/apps/${options.appId ?? broker.appId}${path}`;
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const query = signApiRequest({
        key: options.key ?? broker.key,
        secret: options.secret ?? broker.secret,
        method,
        path: fullPath,
        params: options.params,
        body: options.signedBody ?? text,
        timestamp: options.timestamp
    });
    const response = await fetch(`${broker.url}${fullPath}?${query}`, {
        method,
        headers: text === undefined ? {} : { "content-type": "application/json" },
        body: text
    });
    return { status: response.status, text: await response.text() };
}

const event = { name: "refresh", data: '{"guid":"1"}', channels: ["private-api"] };

describe("signature checks", () => {
    it("accepts a correctly signed request and answers {}", async () => {
        expect(await signedRequest("/events", event)).toEqual({ status: 200, text: "{}" });
    });

    it("refuses a wrong signature with 401", async () => {
        const result = await signedRequest("/events", event, { secret: "not-the-secret" });
        expect(result.status).toBe(401);
        expect(result.text).toMatch(/Invalid signature/);
    });

    it("refuses a body that does not match body_md5 with 401", async () => {
        const result = await signedRequest("/events", event, {
            signedBody: JSON.stringify({ ...event, data: "tampered" })
        });
        expect(result.status).toBe(401);
        expect(result.text).toMatch(/body_md5 mismatch/);
    });

    it("refuses a timestamp more than 600 s old (or ahead) with 401", async () => {
        const now = Math.floor(Date.now() / 1000);
        const stale = await signedRequest("/events", event, { timestamp: now - 601 });
        expect(stale.status).toBe(401);
        expect(stale.text).toMatch(/Timestamp expired/);
        const future = await signedRequest("/events", event, { timestamp: now + 700 });
        expect(future.status).toBe(401);
        expect((await signedRequest("/events", event, { timestamp: now - 590 })).status).toBe(200);
    });

    it("refuses an unknown auth_key with 401", async () => {
        const result = await signedRequest("/events", event, { key: "someone-else" });
        expect(result).toEqual({ status: 401, text: "Unknown auth_key" });
    });

    it("answers 404 for an unknown app id", async () => {
        const result = await signedRequest("/events", event, { appId: "999" });
        expect(result.status).toBe(404);
        expect(result.text).toMatch(/Unknown app id/);
    });

    it("answers a signed POST without a body with 400 (not a server error)", async () => {
        const result = await signedRequest("/events", undefined);
        expect(result).toEqual({ status: 400, text: "Invalid JSON body" });
    });

    it("refuses unsigned requests with 401", async () => {
        const response = await fetch(`${broker.url}/apps/${broker.appId}/events`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(event)
        });
        expect(response.status).toBe(401);
    });

    it("surfaces the status to the SDK caller (RequestError with status and body)", async () => {
        const wrong = broker.sdk({ secret: "wrong" });
        await expect(wrong.trigger("private-api", "refresh", {})).rejects.toMatchObject({
            status: 401,
            body: expect.stringMatching(/Invalid signature/)
        });
    });
});

describe("validation", () => {
    it.each([
        ["invalid JSON", "{nope", 400, /Invalid JSON/],
        ["a missing name", { data: "{}", channels: ["a"] }, 400, /name/],
        ["a 201-character event name", { ...event, name: "e".repeat(201) }, 400, /at most 200/],
        ["non-string data", { ...event, data: { a: 1 } }, 400, /data must be a string/],
        ["no channels", { name: "x", data: "{}" }, 400, /channels/],
        ["101 channels", { ...event, channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }, 400, /at most 100/],
        ["a bad channel name", { ...event, channels: ["bad name"] }, 400, /not allowed/],
        ["a 165-character channel", { ...event, channels: ["c".repeat(165)] }, 400, /at most 164/],
        ["a malformed socket_id", { ...event, socket_id: "abc" }, 400, /socket_id/],
        ["a reserved event name", { ...event, name: "pusher:connection_established" }, 400, /reserved/],
        ["data over 10240 bytes", { ...event, data: "é".repeat(5_121) }, 413, /at most 10240 bytes/]
    ])("refuses %s", async (_label, body, status, message) => {
        const result = await signedRequest("/events", body);
        expect(result.status).toBe(status);
        expect(result.text).toMatch(message);
    });

    it("accepts data of exactly 10240 bytes", async () => {
        expect((await signedRequest("/events", { ...event, data: "d".repeat(10_240) })).status).toBe(200);
    });

    it("refuses batches that are empty or have more than 10 events, delivering nothing", async () => {
        expect((await signedRequest("/batch_events", { batch: [] })).status).toBe(400);
        const eleven = Array.from({ length: 11 }, () => ({ name: "e", data: "{}", channel: "c" }));
        const result = await signedRequest("/batch_events", { batch: eleven });
        expect(result.status).toBe(400);
        expect(result.text).toMatch(/at most 10/);
        const before = broker.broker.stats().eventsIn;
        const partlyBad = await signedRequest("/batch_events", {
            batch: [
                { name: "ok", data: "{}", channel: "c" },
                { name: "bad", data: "{}", channel: "bad channel" }
            ]
        });
        expect(partlyBad.status).toBe(400);
        expect(partlyBad.text).toMatch(/batch\[1\]/);
        expect(broker.broker.stats().eventsIn).toBe(before);
    });

    it('answers a batch with {"batch":[{},...]}', async () => {
        const batch = [
            { name: "a", data: "{}", channel: "c1" },
            { name: "b", data: "{}", channel: "c2" }
        ];
        expect(await signedRequest("/batch_events", { batch })).toEqual({
            status: 200,
            text: '{"batch":[{},{}]}'
        });
    });
});

describe("mounting", () => {
    it("explains a router mounted after a JSON body parser (500 naming the cause)", async () => {
        const { appId, key, secret } = randomCredentials();
        const misplaced = createBroker({ appId, key, secret, logger: silentLogger() });
        const app = express();
        app.use(express.json());
        app.use(misplaced.router);
        const server = http.createServer(app);
        await new Promise<void>(resolve => server.listen(0, "127.0.0.1", () => resolve()));
        try {
            const sdk = createSdk((server.address() as AddressInfo).port, { appId, key, secret });
            await expect(sdk.trigger("a", "b", {})).rejects.toMatchObject({
                status: 500,
                body: expect.stringMatching(/before any body parser/)
            });
        } finally {
            await misplaced.close();
            await new Promise(resolve => server.close(resolve));
        }
    });
});

describe("channel queries and info", () => {
    it("reports subscription counts through events info and the channels API", async () => {
        let client: PusherClient | undefined;
        try {
            client = await connectClient(broker);
            const channel = await subscribe(client, "private-info");
            const received = nextEvent(channel, "counted");
            const response = await broker
                .sdk()
                .trigger("private-info", "counted", { n: 1 }, { info: "subscription_count" });
            expect(await response.json()).toEqual({ channels: { "private-info": { subscription_count: 1 } } });
            expect(await received).toEqual({ n: 1 });

            const list = await broker.sdk().get({ path: "/channels", params: { filter_by_prefix: "private-" } });
            expect(await list.json()).toEqual({ channels: { "private-info": {} } });
            const one = await broker
                .sdk()
                .get({ path: "/channels/private-info", params: { info: "subscription_count" } });
            expect(await one.json()).toEqual({ occupied: true, subscription_count: 1 });
            const empty = await broker.sdk().get({ path: "/channels/private-nobody" });
            expect(await empty.json()).toEqual({ occupied: false });
        } finally {
            client?.disconnect();
        }
    });

    it("refuses a GET with a wrong signature", async () => {
        const result = await signedRequest("/channels", undefined, { method: "GET", secret: "wrong" });
        expect(result.status).toBe(401);
    });
});
