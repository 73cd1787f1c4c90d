import pino from "pino";
import { describe, expect, it } from "vitest";
import { BrokerApiError, createBroker, randomCredentials } from "../broker";
import { HttpError } from "../errors";
import { createEmbeddedTrigger, type TriggerItem } from "../trigger";

const logger = pino({ level: "silent" });
const item = (overrides: Partial<TriggerItem> = {}): TriggerItem => ({
    channel: "private-Sales.Order.1",
    action: "refresh",
    data: '{"entity":"Sales.Order","guid":"1","changedDate":"2026-11-24T10:00:00.000Z","sender":""}',
    ...overrides
});

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
    const error = await promise.then(
        () => undefined,
        (caught: unknown) => caught
    );
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
}

describe("Broker.trigger (the in-process entry of the broker's HTTP events API)", () => {
    it("applies the HTTP API's validation and limits, and a refused list delivers nothing", () => {
        const broker = createBroker({ ...randomCredentials(), logger });
        const attempt = (events: Parameters<typeof broker.trigger>[0]) => {
            try {
                broker.trigger(events);
                return undefined;
            } catch (error) {
                expect(error).toBeInstanceOf(BrokerApiError);
                return { status: (error as BrokerApiError).status, message: (error as BrokerApiError).message };
            }
        };
        const ok = { channels: ["private-a"], name: "refresh", data: "{}" };
        expect(attempt([ok])).toBeUndefined();
        expect(broker.stats().eventsIn).toBe(1);
        expect(attempt([{ ...ok, name: "pusher:x" }])).toEqual({
            status: 400,
            message: 'event: event names starting with "pusher:" are reserved'
        });
        expect(attempt([ok, { ...ok, data: "x".repeat(10_241) }])).toEqual({
            status: 413,
            message: "events[1]: data is 10241 bytes; at most 10240 bytes are allowed"
        });
        expect(attempt([ok, { ...ok, channels: ["bad channel"] }])?.status).toBe(400);
        expect(attempt([{ ...ok, socketId: "1.1:x" }])).toEqual({
            status: 400,
            message: 'event: socket_id must look like "123.456"'
        });
        // Only the first, valid call was delivered: refused lists deliver none of their events.
        expect(broker.stats().eventsIn).toBe(1);
    });
});

describe("createEmbeddedTrigger", () => {
    it("triggers one notification and batches beyond Pusher's 10 events per call, in one in-process call", async () => {
        const broker = createBroker({ ...randomCredentials(), logger });
        const trigger = createEmbeddedTrigger(broker);
        expect(trigger.kind).toBe("embedded");
        await trigger.one(item());
        expect(broker.stats().eventsIn).toBe(1);
        expect(await trigger.batch(Array.from({ length: 25 }, (_unused, index) => item({ data: `"${index}"` })))).toBe(
            25
        );
        expect(broker.stats().eventsIn).toBe(26);
    });

    it("a refusal of the broker answers 502 broker_error; a refused batch reports every index as failed", async () => {
        const broker = createBroker({ ...randomCredentials(), logger });
        const trigger = createEmbeddedTrigger(broker);
        const single = await refusal(trigger.one(item({ action: "pusher:internal" })));
        expect(single).toMatchObject({
            status: 502,
            code: "broker_error",
            details: { attempts: 1, reason: expect.stringMatching(/^the embedded broker refused it \(400\): /) }
        });
        const batch = await refusal(trigger.batch([item(), item({ data: "x".repeat(20_000) }), item()]));
        expect(batch).toMatchObject({
            status: 502,
            code: "broker_error",
            details: { triggered: 0, failed: [0, 1, 2], attempts: 1, reason: expect.stringMatching(/\(413\)/) }
        });
        expect(broker.stats().eventsIn).toBe(0);
    });

    it("does not disguise a bug as a broker refusal", async () => {
        const bug = new TypeError("boom");
        const trigger = createEmbeddedTrigger({
            trigger: () => {
                throw bug;
            }
        });
        await expect(trigger.one(item())).rejects.toBe(bug);
        await expect(trigger.batch([item()])).rejects.toBe(bug);
    });
});
