/**
 * The API key is compared in constant time: the checker hashes both sides to equal-length SHA-256 digests and
 * compares them with crypto.timingSafeEqual, whatever the length of the candidate (timingSafeEqual itself
 * throws on different lengths, so a naive use would either throw or leak the length). The broker's signature
 * checks use timingSafeEqual too. This is a code-path test, not a timing measurement.
 */
import * as crypto from "node:crypto";
import type * as NodeCrypto from "node:crypto";
import type { Request } from "express";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApiKeyChecker } from "../../server/apikey";
import { safeEqual, verifyChannelAuth } from "../../server/broker/signature";

vi.mock("node:crypto", async importOriginal => {
    const original = await importOriginal<typeof NodeCrypto>();
    return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});
vi.mock("crypto", async importOriginal => {
    const original = await importOriginal<typeof NodeCrypto>();
    return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);
const KEY = "k3y-0123456789abcdefghijklmnopqrstuvwxyz";

function requestWith(authorization: string | undefined): Request {
    return { get: (name: string) => (name.toLowerCase() === "authorization" ? authorization : undefined) } as Request;
}

afterEach(() => {
    timingSafeEqual.mockClear();
});

describe("API key comparison", () => {
    const candidates = [
        "",
        "k",
        KEY.slice(0, -1),
        `${KEY}x`,
        KEY.toUpperCase(),
        "x".repeat(KEY.length),
        "x".repeat(10_000),
        "ключ-🙂-\u0000",
        KEY
    ];

    it("compares equal-length digests with timingSafeEqual for candidates of any length", () => {
        const checker = createApiKeyChecker(KEY);
        for (const candidate of candidates) {
            timingSafeEqual.mockClear();
            expect(checker.matches(candidate)).toBe(candidate === KEY);
            expect(timingSafeEqual).toHaveBeenCalledTimes(1);
            const [left, right] = timingSafeEqual.mock.calls[0] as [Buffer, Buffer];
            expect(Buffer.isBuffer(left) && Buffer.isBuffer(right)).toBe(true);
            // SHA-256 digests: always 32 bytes each, so the comparison never depends on the candidate's length.
            expect(left.length).toBe(32);
            expect(right.length).toBe(32);
        }
    });

    it("the Bearer header check goes through the same constant-time comparison", () => {
        const checker = createApiKeyChecker(KEY);
        expect(checker.classify(requestWith(`Bearer ${KEY}`))).toBe("valid");
        expect(timingSafeEqual).toHaveBeenCalled();
        for (const header of [`Bearer ${KEY.slice(1)}`, `Bearer ${KEY}0`, "Bearer a"]) {
            timingSafeEqual.mockClear();
            expect(checker.classify(requestWith(header))).toBe("invalid");
            expect(timingSafeEqual).toHaveBeenCalledTimes(1);
            const [left, right] = timingSafeEqual.mock.calls[0] as [Buffer, Buffer];
            expect([left.length, right.length]).toEqual([32, 32]);
        }
        expect(checker.classify(requestWith(undefined))).toBe("none");
    });

    it("the broker compares signatures with timingSafeEqual and never throws on length differences", () => {
        expect(() => safeEqual("abc", "abcd")).not.toThrow();
        expect(safeEqual("abc", "abcd")).toBe(false);
        timingSafeEqual.mockClear();
        expect(safeEqual("abcd", "abcd")).toBe(true);
        expect(timingSafeEqual).toHaveBeenCalledTimes(1);
        timingSafeEqual.mockClear();
        const signature = crypto.createHmac("sha256", "secret").update("1.2:private-a").digest("hex");
        expect(verifyChannelAuth("key", "secret", "1.2", "private-a", `key:${signature}`)).toBe(true);
        expect(verifyChannelAuth("key", "secret", "1.2", "private-a", `key:${"0".repeat(64)}`)).toBe(false);
        // Key and signature are both compared (no early exit telling which part was wrong).
        expect(timingSafeEqual.mock.calls.length).toBeGreaterThanOrEqual(4);
    });
});
