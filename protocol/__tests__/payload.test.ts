import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    MAX_EPOCH_MS,
    PRIVATE_CHANNEL_RULE,
    TOPIC_RULE,
    followsRule,
    guidOfNumber,
    parseChangedDate,
    parsePayload,
    topicOfChannel,
    validateChannel,
    validateTopic
} from "../index.js";

/** What the Mendix 7 Java Notify action sends (pusher-http-java), verbatim. */
const HISTORIC =
    '{"changedDate":"1764583200000","sender":"MxAdmin","guid":"281474976710657","entity":"Sales.Order","actionName":"refresh"}';

describe("parseChangedDate: both historic forms", () => {
    it("reads epoch milliseconds as digits (Mendix 7 Java) and as a JSON number", () => {
        expect(parseChangedDate("1764583200000")?.toISOString()).toBe("2025-12-01T10:00:00.000Z");
        expect(parseChangedDate(1764583200000)?.toISOString()).toBe("2025-12-01T10:00:00.000Z");
        expect(parseChangedDate("0")?.toISOString()).toBe("1970-01-01T00:00:00.000Z");
        // A string of digits is epoch milliseconds, never a year.
        expect(parseChangedDate("2026")?.toISOString()).toBe("1970-01-01T00:00:02.026Z");
    });

    it("reads ISO 8601 date-times", () => {
        expect(parseChangedDate("2026-11-24T10:00:00.000Z")?.toISOString()).toBe("2026-11-24T10:00:00.000Z");
        expect(parseChangedDate("2026-11-24T11:00:00+01:00")?.toISOString()).toBe("2026-11-24T10:00:00.000Z");
    });

    it("gives undefined for anything else", () => {
        for (const value of ["", "not a date", "1.5", "-1", 1.5, -1, MAX_EPOCH_MS + 1, NaN, Infinity, null, {}, true]) {
            expect(parseChangedDate(value), String(value)).toBeUndefined();
        }
        expect(parseChangedDate(MAX_EPOCH_MS)?.getTime()).toBe(MAX_EPOCH_MS);
    });

    it("gives the same moment for a date's epoch and ISO forms", () => {
        // Up to the year 9999: later ISO texts use six-digit years (+010000-...).
        fc.assert(
            fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), ms => {
                const iso = new Date(ms).toISOString();
                expect(parseChangedDate(String(ms))?.getTime()).toBe(ms);
                expect(parseChangedDate(ms)?.getTime()).toBe(ms);
                expect(parseChangedDate(iso)?.getTime()).toBe(ms);
            })
        );
    });
});

describe("guidOfNumber: never a silently rounded id", () => {
    it("keeps exact numbers and refuses those beyond JavaScript's safe integers", () => {
        expect(guidOfNumber(281474976710657)).toBe("281474976710657");
        expect(guidOfNumber(Number.MAX_SAFE_INTEGER)).toBe("9007199254740991");
        // JSON.parse("36310271995674113") is 36310271995674110: the id is already wrong, so there is none.
        expect(guidOfNumber(JSON.parse("36310271995674113") as number)).toBeUndefined();
        expect(guidOfNumber(2 ** 53)).toBeUndefined();
        expect(guidOfNumber(-1)).toBeUndefined();
        expect(guidOfNumber(1.5)).toBeUndefined();
    });
});

describe("parsePayload", () => {
    it("reads the Mendix 7 Java payload verbatim, as text and as pusher-js hands it over", () => {
        for (const raw of [HISTORIC, JSON.parse(HISTORIC) as unknown]) {
            expect(parsePayload(raw)).toEqual({
                entity: "Sales.Order",
                guid: "281474976710657",
                changedDate: new Date(1764583200000),
                sender: "MxAdmin",
                actionName: "refresh",
                data: undefined
            });
        }
    });

    it("reads this server's payload", () => {
        const payload = {
            entity: "Sales.Order",
            guid: "281474976710657",
            changedDate: "2026-11-24T10:00:00.000Z",
            sender: "john",
            actionName: "Refresh order",
            data: "status=Shipped"
        };
        expect(parsePayload(payload)).toEqual({ ...payload, changedDate: new Date(payload.changedDate) });
    });

    it("keeps an exact numeric guid and drops a rounded one", () => {
        expect(parsePayload({ guid: 281474976710657 }).guid).toBe("281474976710657");
        expect(parsePayload(JSON.parse('{"guid":36310271995674113}')).guid).toBeUndefined();
    });

    it("treats text that is not JSON as data, and anything else as empty", () => {
        expect(parsePayload("hello")).toEqual({ data: "hello" });
        expect(parsePayload(null)).toEqual({});
        expect(parsePayload(42)).toEqual({});
    });
});

describe("topic and channel rules as facets", () => {
    const channelLike = fc.oneof(
        fc.string({ maxLength: 170 }),
        fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{0,170}$/),
        fc
            .tuple(
                fc.constantFrom("private-", "private-encrypted-", "encrypted-", "presence-", ""),
                fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{0,165}$/)
            )
            .map(([prefix, rest]) => prefix + rest)
    );

    it("validateTopic is exactly TOPIC_RULE", () => {
        fc.assert(
            fc.property(channelLike, topic => {
                expect(validateTopic(topic) === null).toBe(followsRule(TOPIC_RULE, topic));
            }),
            { numRuns: 2_000 }
        );
    });

    it("PRIVATE_CHANNEL_RULE is exactly a private channel of a valid topic", () => {
        fc.assert(
            fc.property(channelLike, channel => {
                const topic = topicOfChannel(channel);
                const valid = topic !== null && validateChannel(channel) === null && validateTopic(topic) === null;
                expect(followsRule(PRIVATE_CHANNEL_RULE, channel)).toBe(valid);
            }),
            { numRuns: 2_000 }
        );
    });
});
