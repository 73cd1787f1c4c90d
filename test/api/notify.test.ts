import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startFakePusher, type FakePusher } from "./fake-pusher";
import {
    API_KEY,
    BEARER,
    answer,
    connectListener,
    postJson,
    sleep,
    startServer,
    waitFor,
    type Listener,
    type TestServer
} from "./helpers";

const GUID = "281474976710657";
const TOPIC = `Sales.Order.${GUID}`;
const CHANNEL = `private-${TOPIC}`;
/** What the Mendix 7 Java Notify action sends (pusher-http-java), verbatim. */
const HISTORIC_PAYLOAD =
    '{"changedDate":"1764583200000","sender":"MxAdmin","guid":"281474976710657","entity":"Sales.Order","actionName":"refresh"}';

describe("notify with the embedded broker and a real pusher-js listener", () => {
    let server: TestServer;
    let listener: Listener;
    let other: Listener;
    const received: Array<{ action: string; data: unknown }> = [];
    const otherReceived: Array<{ action: string; data: unknown }> = [];

    beforeAll(async () => {
        server = await startServer();
        listener = await connectListener(server.url);
        other = await connectListener(server.url);
        for (const [client, list] of [
            [listener, received],
            [other, otherReceived]
        ] as const) {
            const channel = await client.subscribe(CHANNEL);
            channel.bind_global((action: string, data: unknown) => {
                if (!action.startsWith("pusher:")) {
                    list.push({ action, data });
                }
            });
        }
    });

    afterAll(async () => {
        listener?.disconnect();
        other?.disconnect();
        await server.close();
    });

    afterEach(() => {
        received.length = 0;
        otherReceived.length = 0;
        vi.restoreAllMocks();
    });

    it("entity + guid: the listener receives the exact payload", async () => {
        const { status, body } = await answer(
            postJson(
                `${server.url}/rest/pusher/notify`,
                {
                    entity: "Sales.Order",
                    guid: GUID,
                    action: "refresh",
                    sender: "john",
                    changedDate: "2026-11-24T11:00:00+01:00",
                    data: "hello ✓"
                },
                BEARER
            )
        );
        expect(status).toBe(200);
        expect(body).toEqual({ triggered: 1, channels: [CHANNEL] });
        await waitFor(() => received.length === 1, 3000, "the event");
        expect(received[0]).toEqual({
            action: "refresh",
            data: {
                entity: "Sales.Order",
                guid: GUID,
                changedDate: "2026-11-24T10:00:00.000Z",
                sender: "john",
                actionName: "refresh",
                data: "hello ✓",
                // The catch-up fields (docs/architecture-catchup.md).
                seq: expect.any(Number),
                epoch: server.running.catchup.store.epoch
            }
        });
    });

    it("the Mendix 7 Java Notify payload, verbatim, is a valid notification: epoch-ms changedDate, actionName", async () => {
        const { status, body } = await answer(postJson(`${server.url}/rest/pusher/notify`, HISTORIC_PAYLOAD, BEARER));
        expect(status).toBe(200);
        expect(body).toEqual({ triggered: 1, channels: [CHANNEL] });
        await waitFor(() => received.length === 1, 3000, "the event");
        expect(received[0]).toEqual({
            action: "refresh",
            data: {
                entity: "Sales.Order",
                guid: GUID,
                changedDate: "2025-12-01T10:00:00.000Z",
                sender: "MxAdmin",
                actionName: "refresh",
                seq: expect.any(Number),
                epoch: server.running.catchup.store.epoch
            }
        });
    });

    it("the Mendix 7 payload through the Pusher HTTP API (the pusher SDK, like pusher-http-java) arrives verbatim", async () => {
        const response = await server.running.pusher.trigger(CHANNEL, "refresh", HISTORIC_PAYLOAD);
        expect(response.status).toBe(200);
        await waitFor(() => received.length === 1, 3000, "the event");
        expect(received[0]).toEqual({ action: "refresh", data: JSON.parse(HISTORIC_PAYLOAD) });
    });

    it("takes action names with spaces ('Refresh order'), epoch milliseconds as a number, an exact numeric guid", async () => {
        const { status } = await answer(
            postJson(
                `${server.url}/rest/pusher/notify/batch`,
                {
                    notifications: [
                        { topic: TOPIC, action: "Refresh order", changedDate: "2026-11-24T10:00:00.000Z" },
                        { entity: "Sales.Order", guid: 281474976710657, action: "refresh", changedDate: 1764583200000 },
                        JSON.parse(HISTORIC_PAYLOAD)
                    ]
                },
                BEARER
            )
        );
        expect(status).toBe(200);
        await waitFor(() => received.length === 3, 3000, "three events");
        expect(received.map(event => event.action)).toEqual(["Refresh order", "refresh", "refresh"]);
        const payloads = received.map(event => event.data as Record<string, string>);
        expect(payloads[0]).toMatchObject({ actionName: "Refresh order", changedDate: "2026-11-24T10:00:00.000Z" });
        expect(payloads[1]).toMatchObject({ guid: GUID, changedDate: "2025-12-01T10:00:00.000Z" });
        expect(payloads[2]).toMatchObject({ sender: "MxAdmin", changedDate: "2025-12-01T10:00:00.000Z" });
    });

    it("topic only: entity and guid derived from Module.Entity.guid, sender empty, changedDate now, no data", async () => {
        const before = Date.now();
        const { status, body } = await answer(
            postJson(`${server.url}/rest/pusher/notify`, { topic: TOPIC, action: "reload" }, BEARER)
        );
        expect(status).toBe(200);
        expect(body).toEqual({ triggered: 1, channels: [CHANNEL] });
        await waitFor(() => received.length === 1, 3000, "the event");
        const payload = received[0].data as Record<string, string>;
        expect(received[0].action).toBe("reload");
        expect(Object.keys(payload).sort()).toEqual([
            "actionName",
            "changedDate",
            "entity",
            "epoch",
            "guid",
            "sender",
            "seq"
        ]);
        expect(payload.actionName).toBe("reload");
        expect(payload).toMatchObject({ entity: "Sales.Order", guid: GUID, sender: "" });
        const changed = Date.parse(payload.changedDate);
        expect(changed).toBeGreaterThanOrEqual(before - 5);
        expect(changed).toBeLessThanOrEqual(Date.now() + 5);
    });

    it("accepts null for optional fields (Mendix export mappings send null)", async () => {
        const { status } = await answer(
            postJson(
                `${server.url}/rest/pusher/notify`,
                {
                    topic: TOPIC,
                    entity: null,
                    guid: null,
                    action: "refresh",
                    sender: null,
                    data: null,
                    socketId: null,
                    changedDate: null
                },
                BEARER
            )
        );
        expect(status).toBe(200);
        await waitFor(() => received.length === 1, 3000, "the event");
        expect(received[0].data).toMatchObject({ entity: "Sales.Order", guid: GUID, sender: "" });
    });

    it("a custom topic gives empty entity and guid unless sent", async () => {
        const custom = await connectListener(server.url);
        try {
            const events: unknown[] = [];
            (await custom.subscribe("private-Sales.Order.SO-1001")).bind("refresh", (data: unknown) =>
                events.push(data)
            );
            await answer(
                postJson(
                    `${server.url}/rest/pusher/notify`,
                    { topic: "Sales.Order.SO-1001", action: "refresh" },
                    BEARER
                )
            );
            await answer(
                postJson(
                    `${server.url}/rest/pusher/notify`,
                    { topic: "Sales.Order.SO-1001", entity: "Sales.Order", guid: "5", action: "refresh" },
                    BEARER
                )
            );
            await waitFor(() => events.length === 2, 3000, "two events");
            expect(events[0]).toMatchObject({ entity: "", guid: "" });
            expect(events[1]).toMatchObject({ entity: "Sales.Order", guid: "5" });
        } finally {
            custom.disconnect();
        }
    });

    it("socketId excludes the sender's own connection", async () => {
        const { status } = await answer(
            postJson(
                `${server.url}/rest/pusher/notify`,
                { topic: TOPIC, action: "refresh", socketId: listener.socketId },
                BEARER
            )
        );
        expect(status).toBe(200);
        await waitFor(() => otherReceived.length === 1, 3000, "the other listener");
        // A marker sent afterwards reaches the excluded listener: the excluded event would have come first.
        await answer(postJson(`${server.url}/rest/pusher/notify`, { topic: TOPIC, action: "marker" }, BEARER));
        await waitFor(() => received.length === 1 && otherReceived.length === 2, 3000, "the marker");
        expect(received.map(event => event.action)).toEqual(["marker"]);
        expect(otherReceived.map(event => event.action)).toEqual(["refresh", "marker"]);
    });

    it("a batch of 25 arrives as 25 events, in order, published in-process: no HTTP call to the broker API", async () => {
        const running = server.running;
        const broker = running.broker!;
        expect(running.trigger.kind).toBe("embedded");
        const sdkTrigger = vi.spyOn(running.pusher, "trigger");
        const sdkBatch = vi.spyOn(running.pusher, "triggerBatch");
        const inProcess = vi.spyOn(broker, "publishAll");
        const brokerApiCalls = () =>
            server.logs.filter(line => String((JSON.parse(line) as { path?: unknown }).path).startsWith("/apps/"));
        const apiCallsBefore = brokerApiCalls().length;
        const eventsBefore = broker.stats().eventsIn;
        const notifications = Array.from({ length: 25 }, (_unused, index) => ({
            topic: TOPIC,
            action: "refresh",
            data: `n${index}`
        }));
        const { status, body } = await answer(
            postJson(`${server.url}/rest/pusher/notify/batch`, { notifications }, BEARER)
        );
        expect(status).toBe(200);
        expect(body).toEqual({ triggered: 25, channels: [CHANNEL] });
        await waitFor(() => received.length === 25, 5000, "25 events");
        expect(received.map(event => (event.data as { data: string }).data)).toEqual(
            notifications.map(notification => notification.data)
        );
        // One in-process call with all 25 events, through the broker's own delivery path.
        expect(inProcess).toHaveBeenCalledTimes(1);
        expect(inProcess.mock.calls[0][0]).toHaveLength(25);
        expect(broker.stats().eventsIn - eventsBefore).toBe(25);
        expect(sdkTrigger).not.toHaveBeenCalled();
        expect(sdkBatch).not.toHaveBeenCalled();
        expect(brokerApiCalls()).toHaveLength(apiCallsBefore);

        // The broker's HTTP events API stays for other SDKs, and a call to it does show up in the request log.
        const response = await running.pusher.trigger(CHANNEL, "viaHttp", JSON.stringify({ sdk: true }));
        expect(response.status).toBe(200);
        await waitFor(() => received.length === 26, 3000, "the event sent through the HTTP API");
        expect(received[25]).toEqual({ action: "viaHttp", data: { sdk: true } });
        await waitFor(() => brokerApiCalls().length === apiCallsBefore + 1, 3000, "the request log line");
        expect(JSON.parse(brokerApiCalls().at(-1)!)).toMatchObject({
            method: "POST",
            path: expect.stringMatching(/\/events$/)
        });
    });

    it("a batch honours socketId per notification", async () => {
        const { status, body } = await answer(
            postJson(
                `${server.url}/rest/pusher/notify/batch`,
                {
                    notifications: [
                        { topic: TOPIC, action: "first", socketId: other.socketId },
                        { entity: "Sales.Order", guid: GUID, action: "second" }
                    ]
                },
                BEARER
            )
        );
        expect(status).toBe(200);
        expect(body).toEqual({ triggered: 2, channels: [CHANNEL] });
        await waitFor(() => received.length === 2 && otherReceived.length === 1, 3000, "batch events");
        expect(received.map(event => event.action)).toEqual(["first", "second"]);
        expect(otherReceived.map(event => event.action)).toEqual(["second"]);
    });

    it("answers 400 for 101 notifications and sends nothing", async () => {
        const notifications = Array.from({ length: 101 }, () => ({ topic: TOPIC, action: "refresh" }));
        const { status, body } = await answer(
            postJson(`${server.url}/rest/pusher/notify/batch`, { notifications }, BEARER)
        );
        expect(status).toBe(400);
        expect(body.error.code).toBe("invalid_request");
        expect(body.error.details).toEqual([
            { path: "notifications", message: "send at most 100 notifications per batch" }
        ]);
        await sleep(100);
        expect(received).toHaveLength(0);
    });

    it("a batch with one invalid notification is refused as a whole", async () => {
        const { status, body } = await answer(
            postJson(
                `${server.url}/rest/pusher/notify/batch`,
                {
                    notifications: [
                        { topic: TOPIC, action: "ok" },
                        { topic: TOPIC, action: "client-x" }
                    ]
                },
                BEARER
            )
        );
        expect(status).toBe(400);
        expect(body.error.details).toEqual([
            { path: "notifications.1.action", message: expect.stringMatching(/reserved prefix/) }
        ]);
        await sleep(100);
        expect(received).toHaveLength(0);
    });
});

describe("notify input errors", () => {
    let server: TestServer;
    beforeAll(async () => {
        server = await startServer();
    });
    afterAll(async () => {
        await server.close();
    });

    const notify = (body: unknown, headers: Record<string, string> = BEARER) =>
        answer(postJson(`${server.url}/rest/pusher/notify`, body, headers));

    it("answers 401 missing_api_key without Authorization and 401 invalid_api_key for a wrong one", async () => {
        const missing = await fetch(`${server.url}/rest/pusher/notify`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ topic: TOPIC, action: "refresh" })
        });
        expect(missing.status).toBe(401);
        expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
        expect((await missing.json()).error.code).toBe("missing_api_key");
        for (const authorization of [
            "Bearer nope",
            `Basic ${Buffer.from(`x:${API_KEY}`).toString("base64")}`,
            API_KEY
        ]) {
            const wrong = await notify({ topic: TOPIC, action: "refresh" }, { Authorization: authorization });
            expect(wrong.status).toBe(401);
            expect(wrong.body.error.code).toBe("invalid_api_key");
        }
        const batch = await answer(postJson(`${server.url}/rest/pusher/notify/batch`, { notifications: [] }, {}));
        expect(batch.status).toBe(401);
        expect(batch.body.error.code).toBe("missing_api_key");
    });

    it.each([
        ["no action", { topic: TOPIC }, "action", /is required: the action name/],
        ["empty action", { topic: TOPIC, action: "" }, "action", /empty/],
        ["reserved action", { topic: TOPIC, action: "pusher_internal:x" }, "action", /reserved prefix/],
        ["client- action", { topic: TOPIC, action: "client-x" }, "action", /reserved prefix/],
        ["action of 201 characters", { topic: TOPIC, action: "x".repeat(201) }, "action", /at most 200/],
        ["numeric action", { topic: TOPIC, action: 42 }, "action", /must be a string/],
        ["action and actionName differ", { topic: TOPIC, action: "a", actionName: "b" }, "actionName", /differs/],
        [
            "no topic, entity or guid",
            { action: "refresh" },
            "topic",
            /send one target: a topic, entity and guid, a user, or a broadcast/
        ],
        ["entity without guid", { entity: "Sales.Order", action: "refresh" }, "guid", /is required with entity/],
        ["guid without entity", { guid: GUID, action: "refresh" }, "entity", /is required with guid/],
        ["entity without module", { entity: "Order", guid: GUID, action: "refresh" }, "entity", /like Sales.Order/],
        ["non-numeric guid", { entity: "Sales.Order", guid: "abc", action: "refresh" }, "guid", /digits only/],
        [
            "guid as a JSON number JSON has rounded",
            '{"entity":"Sales.Order","guid":36310271995674113,"action":"refresh"}',
            "guid",
            /lost digits: send the guid as a string of digits/
        ],
        ["topic with a space", { topic: "a b", action: "refresh" }, "topic", /not allowed/],
        ["topic of 157 characters", { topic: "x".repeat(157), action: "refresh" }, "topic", /at most 156/],
        ["bad changedDate", { topic: TOPIC, action: "refresh", changedDate: "yesterday" }, "changedDate", /ISO 8601/],
        [
            "data of 8001 characters",
            { topic: TOPIC, action: "refresh", data: "x".repeat(8001) },
            "data",
            /at most 8000/
        ],
        ["sender not a string", { topic: TOPIC, action: "refresh", sender: ["john"] }, "sender", /must be a string/],
        ["socketId injection", { topic: TOPIC, action: "refresh", socketId: "1.1:private-x" }, "socketId", /a dot/],
        ["unknown key", { topic: TOPIC, action: "refresh", Topic: TOPIC }, "", /Unrecognized key/]
    ])("%s -> 400 invalid_request", async (_label, body, path, message) => {
        const result = await notify(body);
        expect(result.status).toBe(400);
        expect(result.body.error.code).toBe("invalid_request");
        expect(result.body.error.details).toEqual(
            expect.arrayContaining([{ path, message: expect.stringMatching(message) }])
        );
    });

    it("answers 400 for a JSON array or string instead of an object", async () => {
        expect((await notify([{ topic: TOPIC, action: "refresh" }])).body.error.code).toBe("invalid_request");
        expect((await notify('"text"')).body.error.code).toBe("invalid_json");
    });

    it("answers 413 payload_too_large when the payload exceeds 10 KB", async () => {
        const { status, body } = await notify({ topic: TOPIC, action: "refresh", data: "é".repeat(6000) });
        expect(status).toBe(413);
        expect(body.error).toMatchObject({ code: "payload_too_large", details: { limit: 10_240 } });
        expect(body.error.details.bytes).toBeGreaterThan(12_000);
    });

    it("answers 413 when the body exceeds 16 KB", async () => {
        const { status, body } = await notify({ topic: TOPIC, action: "refresh", data: "x".repeat(17_000) });
        expect(status).toBe(413);
        expect(body.error.code).toBe("payload_too_large");
    });

    it("answers 400 invalid_json, 415 for other types and 400 without body", async () => {
        const broken = await notify('{"topic": "x",');
        expect(broken.status).toBe(400);
        expect(broken.body.error.code).toBe("invalid_json");
        const form = await answer(
            fetch(`${server.url}/rest/pusher/notify`, {
                method: "POST",
                headers: { "Content-Type": "application/x-www-form-urlencoded", ...BEARER },
                body: "topic=x&action=refresh"
            })
        );
        expect(form.status).toBe(415);
        expect(form.body.error.code).toBe("unsupported_media_type");
        const empty = await answer(fetch(`${server.url}/rest/pusher/notify`, { method: "POST", headers: BEARER }));
        expect(empty.status).toBe(400);
        expect(empty.body.error.code).toBe("invalid_request");
    });

    it("batch: 400 for an empty list, a missing list and unknown keys; 413 naming the index of a too large payload", async () => {
        const batch = (body: unknown) => answer(postJson(`${server.url}/rest/pusher/notify/batch`, body, BEARER));
        expect((await batch({ notifications: [] })).body.error.details).toEqual([
            { path: "notifications", message: "send at least 1 notification" }
        ]);
        expect((await batch({})).body.error.details).toEqual([
            { path: "notifications", message: "notifications must be an array" }
        ]);
        expect((await batch({ notifications: [{ topic: TOPIC, action: "a" }], extra: 1 })).status).toBe(400);
        const large = await batch({
            notifications: [
                { topic: TOPIC, action: "a" },
                { topic: TOPIC, action: "a", data: "é".repeat(6000) }
            ]
        });
        expect(large.status).toBe(413);
        expect(large.body.error).toMatchObject({ code: "payload_too_large", details: { index: 1 } });
    });

    it("batch: 413 when the body exceeds BODY_LIMIT_BYTES", async () => {
        const small = await startServer({ BODY_LIMIT_BYTES: "16384" });
        try {
            const notifications = Array.from({ length: 3 }, () => ({
                topic: TOPIC,
                action: "a",
                data: "x".repeat(6000)
            }));
            const { status, body } = await answer(
                postJson(`${small.url}/rest/pusher/notify/batch`, { notifications }, BEARER)
            );
            expect(status).toBe(413);
            expect(body.error).toMatchObject({ code: "payload_too_large", details: { limit: 16384 } });
        } finally {
            await small.close();
        }
    });
});

describe("notify through a Pusher-compatible host (fake Pusher HTTP API)", () => {
    let fake: FakePusher;
    let server: TestServer;

    beforeAll(async () => {
        fake = await startFakePusher();
        server = await startServer({
            ...fake.env
        });
    });
    afterAll(async () => {
        await server.close();
        await fake.close();
    });
    afterEach(() => {
        fake.reset();
        vi.restoreAllMocks();
    });

    it("single notify: one signed POST /apps/<id>/events with the payload as a JSON string", async () => {
        const { status, body } = await answer(
            postJson(
                `${server.url}/rest/pusher/notify`,
                {
                    topic: TOPIC,
                    action: "refresh",
                    sender: "ann",
                    changedDate: "2026-01-02T03:04:05Z",
                    socketId: "9.9"
                },
                BEARER
            )
        );
        expect(status).toBe(200);
        expect(body).toEqual({ triggered: 1, channels: [CHANNEL] });
        expect(fake.calls).toHaveLength(1);
        const call = fake.calls[0];
        expect(call).toMatchObject({ method: "POST", path: "/apps/777/events" });
        expect(call.query).toMatchObject({ auth_key: "hostkey", body_md5: expect.stringMatching(/^[0-9a-f]{32}$/) });
        expect(call.body).toEqual({
            name: "refresh",
            channels: [CHANNEL],
            socket_id: "9.9",
            data: expect.any(String)
        });
        // The payload as a JSON string, stamped for catch-up in this mode too: the server triggers every notification.
        expect(JSON.parse((call.body as { data: string }).data)).toEqual({
            entity: "Sales.Order",
            guid: GUID,
            changedDate: "2026-01-02T03:04:05.000Z",
            sender: "ann",
            actionName: "refresh",
            seq: expect.any(Number),
            epoch: server.running.catchup.store.epoch
        });
    });

    it("batch of 25: three triggerBatch calls, i.e. POST /apps/<id>/batch_events of 10, 10 and 5 events", async () => {
        expect(server.running.trigger.kind).toBe("sdk");
        const spy = vi.spyOn(server.running.pusher, "triggerBatch");
        const notifications = Array.from({ length: 25 }, (_unused, index) => ({
            topic: `Sales.Order.${index}`,
            action: "refresh"
        }));
        const { status, body } = await answer(
            postJson(`${server.url}/rest/pusher/notify/batch`, { notifications }, BEARER)
        );
        expect(status).toBe(200);
        expect(body.triggered).toBe(25);
        expect(body.channels).toHaveLength(25);
        expect(spy).toHaveBeenCalledTimes(3);
        expect(spy.mock.calls.map(call => call[0].length)).toEqual([10, 10, 5]);
        expect(fake.calls.map(call => call.path)).toEqual(Array(3).fill("/apps/777/batch_events"));
        const batches = fake.calls.map(call => (call.body as { batch: Array<{ channel: string }> }).batch);
        expect(batches.map(batch => batch.length)).toEqual([10, 10, 5]);
        expect(batches.flat().map(event => event.channel)).toEqual(
            notifications.map(notification => `private-${notification.topic}`)
        );
    });

    it("a failed chunk answers 502 broker_error with what was triggered and the indexes not sent", async () => {
        // The second chunk fails on all 3 attempts (bounded retries).
        fake.failOn = new Set([2, 3, 4]);
        const notifications = Array.from({ length: 25 }, () => ({ topic: TOPIC, action: "refresh" }));
        const { status, body } = await answer(
            postJson(`${server.url}/rest/pusher/notify/batch`, { notifications }, BEARER)
        );
        expect(status).toBe(502);
        expect(body.error.code).toBe("broker_error");
        expect(body.error.details).toMatchObject({
            triggered: 10,
            failed: Array.from({ length: 15 }, (_unused, index) => index + 10)
        });
        expect(body.error.details.reason).toMatch(/500/);
        expect(JSON.stringify(body)).not.toContain("auth_signature");
        expect(fake.calls).toHaveLength(4);
    });

    it("a failed single notify answers 502 broker_error", async () => {
        fake.failOn = new Set([1, 2, 3]);
        const { status, body } = await answer(
            postJson(`${server.url}/rest/pusher/notify`, { topic: TOPIC, action: "refresh" }, BEARER)
        );
        expect(status).toBe(502);
        expect(body.error.code).toBe("broker_error");
    });

    it("answers 502 when the broker cannot be reached", async () => {
        const gone = await startFakePusher();
        await gone.close();
        const other = await startServer({
            PUSHER_APP_ID: "1",
            PUSHER_KEY: "k",
            PUSHER_SECRET: "s",
            PUSHER_HOST: "127.0.0.1",
            PUSHER_PORT: String(gone.port),
            PUSHER_USE_TLS: "false"
        });
        try {
            const { status, body } = await answer(
                postJson(
                    `${other.url}/rest/pusher/notify/batch`,
                    { notifications: [{ topic: TOPIC, action: "a" }] },
                    BEARER
                )
            );
            expect(status).toBe(502);
            expect(body.error).toMatchObject({ code: "broker_error", details: { triggered: 0, failed: [0] } });
        } finally {
            await other.close();
        }
    });
});
