import { describe, expect, it } from "vitest";
import { ListenError } from "../../utils/errors";
import { backoffDelay, retryDelay } from "../backoff";

describe("backoffDelay", () => {
    it("doubles from 1 s and stops at 30 s", () => {
        expect([0, 1, 2, 3, 4, 5, 6, 20].map(attempt => backoffDelay(attempt))).toEqual([
            1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000
        ]);
    });

    it("takes another base and cap", () => {
        expect([0, 1, 2, 10].map(attempt => backoffDelay(attempt, 500, 15_000))).toEqual([500, 1000, 2000, 15_000]);
    });
});

describe("retryDelay", () => {
    const unavailable = (retryAfterMs?: number) =>
        new ListenError("auth-unavailable", "down", { status: 503, retryable: true, retryAfterMs });

    it("follows the backoff when the server sends no Retry-After", () => {
        expect([0, 1, 2, 9].map(attempt => retryDelay(unavailable(), attempt))).toEqual([1000, 2000, 4000, 30_000]);
    });

    it("waits the server's Retry-After when it is longer than the backoff, but never more than 30 s", () => {
        expect(retryDelay(unavailable(7000), 0)).toBe(7000);
        expect(retryDelay(unavailable(7000), 3)).toBe(8000);
        expect(retryDelay(unavailable(120_000), 0)).toBe(30_000);
        expect(retryDelay(unavailable(0), 1)).toBe(2000);
    });
});
