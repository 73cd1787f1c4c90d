// @vitest-environment node
import { describe, expect, it } from "vitest";
import { otherViewers, sameViewers, viewerNames } from "../viewers";

describe("otherViewers", () => {
    const members = {
        john: { name: "John Smith" },
        mary: { name: "Mary Jones" },
        eve: {}
    };

    it("lists every member but the current user, with the name the server signed, sorted by name", () => {
        expect(otherViewers(members, "john")).toEqual([
            { user: "eve", name: "eve" },
            { user: "mary", name: "Mary Jones" }
        ]);
    });

    it("falls back to the user name when user_info has no usable name", () => {
        expect(otherViewers({ a: null, b: { name: "" }, c: { name: 42 } }, undefined)).toEqual([
            { user: "a", name: "a" },
            { user: "b", name: "b" },
            { user: "c", name: "c" }
        ]);
    });

    it("has nobody when the current user is the only member, and everybody when the user is unknown", () => {
        expect(otherViewers({ john: { name: "John Smith" } }, "john")).toEqual([]);
        expect(otherViewers({ john: { name: "John Smith" } }, undefined)).toEqual([
            { user: "john", name: "John Smith" }
        ]);
    });

    it("orders equal names by user name, so the list is stable", () => {
        expect(otherViewers({ b: { name: "Sam" }, a: { name: "Sam" } }, undefined).map(viewer => viewer.user)).toEqual([
            "a",
            "b"
        ]);
    });
});

describe("viewerNames and sameViewers", () => {
    const mary = { user: "mary", name: "Mary Jones" };
    const peter = { user: "peter", name: "Peter Smith" };

    it("joins the names with ', ' and is empty for nobody", () => {
        expect(viewerNames([mary, peter])).toBe("Mary Jones, Peter Smith");
        expect(viewerNames([])).toBe("");
    });

    it("compares users and names in order", () => {
        expect(sameViewers([mary, peter], [{ ...mary }, { ...peter }])).toBe(true);
        expect(sameViewers([mary], [mary, peter])).toBe(false);
        expect(sameViewers([mary], [{ user: "mary", name: "Mary Smith" }])).toBe(false);
        expect(sameViewers([], [])).toBe(true);
    });
});
