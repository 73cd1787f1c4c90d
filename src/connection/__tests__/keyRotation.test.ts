import { describe, expect, it } from "vitest";
import { createKeyRotation, isKeyRefused, KEY_REFUSED_CODES } from "../keyRotation";

const REFUSED = { code: 4001, message: "App key a not found" };

describe("isKeyRefused", () => {
    it("is true for 4001 (unknown key) and 4003 (app disabled) only", () => {
        expect(KEY_REFUSED_CODES).toEqual([4001, 4003]);
        expect([4001, 4003].every(isKeyRefused)).toBe(true);
        expect([4000, 4002, 4004, 4007, 4200, 4301, 1006].some(isKeyRefused)).toBe(false);
    });
});

describe("createKeyRotation", () => {
    it("asks the key endpoint at once after the first refusal, without telling the widgets", () => {
        const rotation = createKeyRotation(() => 0.5);
        expect(rotation.refusal).toBeUndefined();
        expect(rotation.refused(REFUSED, "a")).toBe(0);
        expect(rotation.refusal).toEqual({ closeError: REFUSED, key: "a", shown: false });
    });

    it("shows the refusal once the endpoint serves the same key again", () => {
        const rotation = createKeyRotation(() => 0.5);
        rotation.sameKeyServed();
        expect(rotation.refusal).toBeUndefined();
        rotation.refused(REFUSED, "a");
        rotation.sameKeyServed();
        expect(rotation.refusal?.shown).toBe(true);
    });

    it("waits out the reconnect backoff from the second refusal on, and shows every later refusal", () => {
        const rotation = createKeyRotation(() => 0.5);
        const delays = [0, 1, 2, 3, 4, 5, 6, 7].map(() => rotation.refused(REFUSED, "a"));
        expect(delays).toEqual([0, 500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
        expect(rotation.refusal?.shown).toBe(true);
    });

    it("keeps counting when a client with a new key replaces the refused one", () => {
        const rotation = createKeyRotation(() => 0.5);
        rotation.refused(REFUSED, "a");
        rotation.replaced();
        expect(rotation.refusal).toBeUndefined();
        expect(rotation.refused({ code: 4001 }, "b")).toBe(500);
        expect(rotation.refusal).toEqual({ closeError: { code: 4001 }, key: "b", shown: true });
    });

    it("starts over once the socket connected", () => {
        const rotation = createKeyRotation(() => 0.5);
        rotation.refused(REFUSED, "a");
        rotation.refused(REFUSED, "a");
        rotation.accepted();
        expect(rotation.refusal).toBeUndefined();
        expect(rotation.refused(REFUSED, "a")).toBe(0);
    });

    it("spreads the waits with the jitter", () => {
        const rotation = createKeyRotation(() => 0);
        rotation.refused(REFUSED, "a");
        expect(rotation.refused(REFUSED, "a")).toBe(375);
    });
});
