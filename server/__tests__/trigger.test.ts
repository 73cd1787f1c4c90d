import pino from "pino";
import { describe, expect, it } from "vitest";
import { createBroker, randomCredentials } from "../broker";
import { createEmbeddedTrigger, type TriggerItem } from "../trigger";

const logger = pino({ level: "silent" });
const item = (overrides: Partial<TriggerItem> = {}): TriggerItem => ({
    channel: "private-Sales.Order.1",
    action: "refresh",
    data: '{"entity":"Sales.Order","guid":"1","changedDate":"2026-11-24T10:00:00.000Z","sender":""}',
    ...overrides
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
});
