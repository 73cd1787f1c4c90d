/**
 * The notify routes validate with one thing, `notificationSchema` / `batchSchema`, built from the protocol's
 * rules: these tests hold it to those rules (same verdict, same message), to both historic payload shapes, and
 * check the payload it prepares (plain `JSON.stringify`, `actionName` included). test/api covers the answers.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_ACTION_LENGTH, validateAction, validateTopic } from "../../protocol/index.js";
import { MAX_BATCH_SIZE, batchSchema, notificationSchema, prepareNotification } from "../routes/notify";

function issues(value: unknown): Array<{ path: string; message: string }> {
    const parsed = notificationSchema.safeParse(value);
    return parsed.success
        ? []
        : parsed.error.issues.map(issue => ({ path: issue.path.join("."), message: issue.message }));
}

const textLike = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: "grapheme", maxLength: 10 }),
    fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{0,160}$/),
    fc.constantFrom("pusher:x", "pusher_internal:x", "client-x", "pusherx", "encrypted-x", "a".repeat(201), "")
);

describe("notificationSchema follows the protocol's rules", () => {
    it("accepts exactly the topics and actions the protocol accepts, with the protocol's message", () => {
        fc.assert(
            fc.property(textLike, textLike, (topic, action) => {
                const found = issues({ topic, action });
                const expected = [
                    ...(validateTopic(topic) === null ? [] : [{ path: "topic", message: validateTopic(topic) }]),
                    ...(validateAction(action) === null ? [] : [{ path: "action", message: validateAction(action) }])
                ];
                expect(found).toEqual(expected);
            }),
            { numRuns: 2_000 }
        );
    });

    it("takes any action name Pusher takes: spaces, quotes, any language, 200 characters", () => {
        for (const action of ["Refresh order", 'Order "42" shipped', "Bestellung geändert", "x".repeat(200)]) {
            expect(issues({ topic: "Sales.Order.1", action }), action).toEqual([]);
        }
        expect(issues({ topic: "Sales.Order.1", action: "x".repeat(MAX_ACTION_LENGTH + 1) })).toEqual([
            { path: "action", message: "The action name is 201 characters long; at most 200 are allowed." }
        ]);
        // Characters as Pusher counts them (UTF-16 units, like String.length): an emoji counts twice.
        expect(issues({ topic: "Sales.Order.1", action: "🙂".repeat(100) })).toEqual([]);
        expect(issues({ topic: "Sales.Order.1", action: "🙂".repeat(101) })).toEqual([
            { path: "action", message: "The action name is 202 characters long; at most 200 are allowed." }
        ]);
    });
});

describe("both historic payload shapes", () => {
    const base = { entity: "Sales.Order", guid: "281474976710657", action: "refresh" };

    it("reads changedDate as ISO 8601, as epoch milliseconds in digits (Mendix 7 Java) and as a JSON number", () => {
        for (const changedDate of [
            "2025-12-01T10:00:00.000Z",
            "2025-12-01T11:00:00+01:00",
            "1764583200000",
            1764583200000
        ]) {
            const parsed = notificationSchema.parse({ ...base, changedDate });
            expect(parsed.changedDate, String(changedDate)).toBe("2025-12-01T10:00:00.000Z");
        }
    });

    it("refuses other dates with one message naming both forms", () => {
        for (const changedDate of ["yesterday", "2026-11-24", "1.5", -1, 1.5, true, "1".repeat(16)]) {
            expect(issues({ ...base, changedDate }), String(changedDate)).toEqual([
                { path: "changedDate", message: expect.stringMatching(/ISO 8601 date-time .* or epoch milliseconds/) }
            ]);
        }
    });

    it("keeps a guid sent as an exact JSON number, and refuses one that JSON has already rounded", () => {
        expect(notificationSchema.parse({ ...base, guid: 281474976710657 }).guid).toBe("281474976710657");
        expect(notificationSchema.parse({ ...base, guid: Number.MAX_SAFE_INTEGER }).guid).toBe("9007199254740991");
        // What express.json() makes of {"guid":36310271995674113}: 36310271995674110, a different object.
        for (const guid of [JSON.parse("36310271995674113") as number, 2 ** 53, -1, 1.5]) {
            expect(issues({ ...base, guid }), String(guid)).toEqual([
                { path: "guid", message: expect.stringMatching(/lost digits: send the guid as a string of digits/) }
            ]);
        }
        expect(issues({ ...base, guid: "1a" })).toEqual([
            { path: "guid", message: "must be a Mendix object id (digits only)" }
        ]);
    });
});

describe("prepareNotification", () => {
    it("sends JSON.stringify of the payload, with actionName equal to the event name", () => {
        fc.assert(
            fc.property(
                fc.record({
                    entity: fc.constantFrom("Sales.Order", "Bench.Item"),
                    guid: fc.stringMatching(/^\d{1,20}$/),
                    action: fc.string({ minLength: 1, maxLength: 30 }).filter(name => validateAction(name) === null),
                    sender: fc.string({ maxLength: 20 }),
                    data: fc.option(fc.string({ unit: "binary", maxLength: 40 }), { nil: null })
                }),
                input => {
                    const prepared = prepareNotification(notificationSchema.parse(input), new Date(0));
                    expect(prepared.action).toBe(input.action);
                    expect(JSON.parse(prepared.data)).toEqual({
                        entity: input.entity,
                        guid: input.guid,
                        changedDate: "1970-01-01T00:00:00.000Z",
                        sender: input.sender,
                        actionName: input.action,
                        ...(input.data === null ? {} : { data: input.data })
                    });
                    expect(prepared.data).toBe(JSON.stringify(prepared.payload));
                }
            ),
            { numRuns: 500 }
        );
    });

    it("derives entity and guid from an object topic, in the historic key order", () => {
        const derived = prepareNotification(
            notificationSchema.parse({ topic: "Sales.Order.42", action: "Refresh order", changedDate: "1764583200000" })
        );
        expect(derived.data).toBe(
            '{"entity":"Sales.Order","guid":"42","changedDate":"2025-12-01T10:00:00.000Z","sender":"","actionName":"Refresh order"}'
        );
    });
});

describe("batchSchema", () => {
    it("takes 1 to 100 notifications and refuses the whole batch for one bad item", () => {
        const one = { topic: "Sales.Order.1", action: "refresh" };
        expect(batchSchema.parse({ notifications: Array(MAX_BATCH_SIZE).fill(one) }).notifications).toHaveLength(100);
        expect(batchSchema.safeParse({ notifications: [] }).success).toBe(false);
        expect(batchSchema.safeParse({ notifications: Array(MAX_BATCH_SIZE + 1).fill(one) }).success).toBe(false);
        const parsed = batchSchema.safeParse({ notifications: [one, { ...one, action: "client-x" }] });
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues.map(issue => issue.path.join("."))).toEqual(["notifications.1.action"]);
    });
});
