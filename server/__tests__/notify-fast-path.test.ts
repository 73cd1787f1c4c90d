/**
 * The notify routes' fast paths must be exact stand-ins for the zod schemas: `fastNotification` / `fastBatch`
 * accept exactly what `notificationSchema` / `batchSchema` accept, with the same output, and `payloadJson` writes
 * exactly what `JSON.stringify` writes. (Error answers always come from the schemas: test/api covers them.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    MAX_BATCH_SIZE,
    batchSchema,
    fastBatch,
    fastNotification,
    notificationSchema,
    payloadJson,
    prepareNotification
} from "../routes/notify";

/** Values around every rule of every field: valid ones, boundary ones and wrong types. */
const anyValue = fc.constantFrom<unknown>(undefined, null, 0, 1, true, [], {}, "", " ", "x".repeat(300));
const topic = fc.oneof(
    anyValue,
    fc.constantFrom(
        "Sales.Order.1",
        "orders",
        "a;b=c@d,e.f-g_h",
        "encrypted-x",
        "bad topic",
        "t".repeat(156),
        "t".repeat(157),
        "é"
    ),
    fc.string({ maxLength: 12 })
);
const entity = fc.oneof(
    anyValue,
    fc.constantFrom("Sales.Order", "_M._E1", "Sales", "Sales.Order.Line", "1Sales.Order", `M.${"e".repeat(160)}`)
);
const guid = fc.oneof(
    anyValue,
    fc.constantFrom("1", "281474976710657", "12345678901234567890", "123456789012345678901", "-1", "1a")
);
const action = fc.oneof(
    anyValue,
    fc.constantFrom(
        "refresh",
        "Order.changed",
        "pusher:x",
        "pusherx",
        "client-x",
        "a b",
        "a".repeat(200),
        "a".repeat(201),
        "   "
    ),
    fc.string({ maxLength: 8 })
);
const sender = fc.oneof(anyValue, fc.constantFrom("bench", "s".repeat(200), "s".repeat(201)), fc.string());
const changedDate = fc.oneof(
    anyValue,
    fc.constantFrom(
        "2026-11-24T10:00:00.000Z",
        "2026-11-24T10:00:00+01:00",
        "2026-11-24T10:00:00",
        "2026-11-24",
        "2026-13-01T00:00:00Z",
        "yesterday"
    )
);
const data = fc.oneof(
    anyValue,
    fc.constantFrom("d".repeat(8000), "d".repeat(8001), '{"json":"inside"}'),
    fc.string({ unit: "binary", maxLength: 40 })
);
const socketId = fc.oneof(anyValue, fc.constantFrom("1234.5678", "1.1", "1234", "1.1:x", ".1"));
const extraKey = fc.constantFrom("other", "Topic", "__proto__x");

const notification = fc
    .record(
        { topic, entity, guid, action, sender, changedDate, data, socketId, extra: fc.tuple(extraKey, anyValue) },
        { requiredKeys: [] }
    )
    .map(({ extra, ...fields }) => {
        // Absent keys stay absent (like JSON); an `extra` entry adds one unknown key.
        const value: Record<string, unknown> = {};
        for (const [key, field] of Object.entries(fields)) {
            value[key] = field;
        }
        if (extra !== undefined) {
            value[extra[0]] = extra[1];
        }
        return value;
    });
/** Mostly valid notifications, so both outcomes are common. */
const validNotification = fc.record({
    entity: fc.constantFrom("Sales.Order", "Bench.Item"),
    guid: fc.stringMatching(/^\d{1,20}$/),
    action: fc.constantFrom("refresh", "changed"),
    sender: fc.string({ maxLength: 20 }),
    data: fc.string({ unit: "binary", maxLength: 40 })
});

/** A valid notification with one or two fields replaced (or an unknown key added) from the pools above. */
const nearlyValid = fc
    .tuple(
        validNotification,
        fc.array(
            fc.oneof(
                ...Object.entries({ topic, entity, guid, action, sender, changedDate, data, socketId }).map(
                    ([key, values]) => values.map(value => [key, value] as const)
                ),
                fc.tuple(extraKey, anyValue)
            ),
            { minLength: 1, maxLength: 2 }
        )
    )
    .map(([base, changes]) => {
        const value: Record<string, unknown> = { ...base };
        for (const [key, field] of changes) {
            value[key] = field;
        }
        return value;
    });

function schemaResult(value: unknown) {
    const parsed = notificationSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
}

describe("fastNotification", () => {
    it("accepts exactly what notificationSchema accepts, with the same output", () => {
        fc.assert(
            fc.property(fc.oneof(notification, nearlyValid, validNotification, anyValue), value => {
                const fast = fastNotification(value);
                const schema = schemaResult(value);
                expect(fast === undefined).toBe(schema === undefined);
                expect(fast).toEqual(schema);
            }),
            { numRuns: 3000 }
        );
    });

    it("passes a typical notification and refuses each broken field", () => {
        const ok = { entity: "Sales.Order", guid: "1", action: "refresh", sender: "me", data: "x" };
        expect(fastNotification(ok)).toEqual(ok);
        expect(fastNotification({ topic: "orders", action: "refresh", sender: null })).toEqual({
            topic: "orders",
            action: "refresh"
        });
        for (const broken of [
            { ...ok, action: "pusher:x" },
            { ...ok, guid: "1a" },
            { ...ok, entity: undefined },
            { ...ok, unknown: 1 },
            { ...ok, changedDate: "2026-11-24" },
            { ...ok, sender: "s".repeat(201) }
        ]) {
            expect(fastNotification(broken)).toBeUndefined();
            expect(notificationSchema.safeParse(broken).success).toBe(false);
        }
    });
});

describe("fastBatch", () => {
    it("accepts exactly what batchSchema accepts, with the same notifications", () => {
        const body = fc.oneof(
            fc.record({ notifications: fc.array(fc.oneof(validNotification, nearlyValid), { maxLength: 4 }) }),
            fc.record({ notifications: fc.array(validNotification, { maxLength: 3 }) }),
            fc.record({ notifications: fc.array(validNotification, { maxLength: 2 }), extra: anyValue }),
            fc.record({ notifications: anyValue }),
            anyValue
        );
        fc.assert(
            fc.property(body, value => {
                const fast = fastBatch(value);
                const parsed = batchSchema.safeParse(value);
                expect(fast === undefined).toBe(!parsed.success);
                expect(fast).toEqual(parsed.success ? parsed.data.notifications : undefined);
            }),
            { numRuns: 1000 }
        );
    });

    it("keeps the batch size limits", () => {
        const one = { topic: "orders", action: "refresh" };
        expect(fastBatch({ notifications: [] })).toBeUndefined();
        expect(fastBatch({ notifications: Array(MAX_BATCH_SIZE).fill(one) })).toHaveLength(MAX_BATCH_SIZE);
        expect(fastBatch({ notifications: Array(MAX_BATCH_SIZE + 1).fill(one) })).toBeUndefined();
        expect(batchSchema.safeParse({ notifications: Array(MAX_BATCH_SIZE + 1).fill(one) }).success).toBe(false);
    });
});

describe("payloadJson", () => {
    it("writes exactly JSON.stringify(payload) for every prepared notification", () => {
        fc.assert(
            fc.property(
                validNotification,
                fc.option(fc.constantFrom("2026-11-24T10:00:00+01:00", "2026-11-24T10:00:00.123Z"), {
                    nil: undefined
                }),
                fc.boolean(),
                (input, date, withData) => {
                    const prepared = prepareNotification(
                        notificationSchema.parse({ ...input, changedDate: date, data: withData ? input.data : null }),
                        new Date(0)
                    );
                    expect(prepared.data).toBe(JSON.stringify(prepared.payload));
                    expect(payloadJson(prepared.payload)).toBe(JSON.stringify(prepared.payload));
                }
            ),
            { numRuns: 1000 }
        );
        const derived = prepareNotification(
            notificationSchema.parse({ topic: "Sales.Order.42", action: "refresh" }),
            new Date(0)
        );
        expect(derived.data).toBe(
            '{"entity":"Sales.Order","guid":"42","changedDate":"1970-01-01T00:00:00.000Z","sender":""}'
        );
    });
});
