import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    ACTION_RULE,
    MAX_ACTION_LENGTH,
    RESERVED_ACTION_PREFIXES,
    followsRule,
    isPusherEvent,
    validateAction
} from "../index.js";

/** Strings near the rule's edges: reserved prefixes and their near misses, spaces, any characters. */
const actionLike = fc.oneof(
    fc.string({ maxLength: MAX_ACTION_LENGTH + 5 }),
    fc.string({ unit: "grapheme", maxLength: 60 }),
    fc
        .tuple(
            fc.constantFrom(
                "pusher:",
                "pusher_internal:",
                "client-",
                "pusher",
                "pusher_",
                "client",
                "Client-",
                "PUSHER:"
            ),
            fc.string({ maxLength: 10 })
        )
        .map(([prefix, rest]) => prefix + rest),
    fc.integer({ min: MAX_ACTION_LENGTH - 2, max: MAX_ACTION_LENGTH + 2 }).map(length => "a".repeat(length))
);

describe("validateAction: Pusher's event-name rules", () => {
    it("accepts any text of 1 to 200 characters, spaces and punctuation included", () => {
        for (const name of [
            "refresh",
            "Refresh order",
            " ",
            "Bestellung geändert",
            'order "42" / shipped?',
            "pusher",
            "pusherUpdate",
            "pusher-sync",
            "client_x",
            "clientside",
            "x".repeat(MAX_ACTION_LENGTH),
            "🚀 launched"
        ]) {
            expect(validateAction(name), name).toBeNull();
        }
    });

    it("refuses the empty name, names over 200 characters and the reserved prefixes, each with its reason", () => {
        expect(validateAction("")).toBe("The action name is empty.");
        expect(validateAction("x".repeat(MAX_ACTION_LENGTH + 1))).toBe(
            "The action name is 201 characters long; at most 200 are allowed."
        );
        expect(validateAction("pusher:subscribe")).toMatch(/starts with "pusher:", a reserved prefix: Pusher reserves/);
        expect(validateAction("pusher_internal:member_added")).toMatch(/starts with "pusher_internal:"/);
        expect(validateAction("client-typing")).toMatch(
            /starts with "client-", a reserved prefix: it marks client events/
        );
        expect(RESERVED_ACTION_PREFIXES.map(entry => entry.prefix)).toEqual(["pusher:", "pusher_internal:", "client-"]);
    });

    it("is exactly ACTION_RULE, the facets the OpenAPI document states", () => {
        fc.assert(
            fc.property(actionLike, name => {
                expect(validateAction(name) === null).toBe(followsRule(ACTION_RULE, name));
            }),
            { numRuns: 2_000 }
        );
    });

    it("tells Pusher's own events from actions", () => {
        expect(isPusherEvent("pusher:subscription_succeeded")).toBe(true);
        expect(isPusherEvent("pusher_internal:subscription_succeeded")).toBe(true);
        expect(isPusherEvent("pusherUpdate")).toBe(false);
        expect(isPusherEvent("Refresh order")).toBe(false);
    });
});
