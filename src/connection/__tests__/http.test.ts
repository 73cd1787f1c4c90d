import { describe, expect, it } from "vitest";
import { baseRequest, errorOptions, failureReason, serverErrorMessage } from "../http";
import { endpoints } from "./helpers";

describe("baseRequest", () => {
    it("accepts JSON, sends the CSRF token and same-origin cookies", () => {
        expect(baseRequest(endpoints(), "token-1")).toEqual({
            headers: { Accept: "application/json", "X-Csrf-Token": "token-1" },
            credentials: "same-origin"
        });
    });

    it("sends no token header without a session token, and includes cookies for another origin", () => {
        expect(baseRequest(endpoints("https://notify.example.com"), undefined)).toEqual({
            headers: { Accept: "application/json" },
            credentials: "include"
        });
    });
});

describe("errorOptions", () => {
    const answer = (status: number, retryAfter?: string) =>
        new Response(null, { status, headers: retryAfter === undefined ? {} : { "Retry-After": retryAfter } });

    it("marks 5xx and 429 as retryable, other statuses not", () => {
        expect(errorOptions(answer(500))).toEqual({ status: 500, retryable: true, retryAfterMs: undefined });
        expect(errorOptions(answer(503)).retryable).toBe(true);
        expect(errorOptions(answer(429)).retryable).toBe(true);
        for (const status of [400, 401, 403, 404, 409]) {
            expect(errorOptions(answer(status)).retryable).toBe(false);
        }
    });

    it("reads Retry-After in seconds and ignores HTTP dates and nonsense", () => {
        expect(errorOptions(answer(503, "7")).retryAfterMs).toBe(7000);
        expect(errorOptions(answer(503, "0")).retryAfterMs).toBe(0);
        expect(errorOptions(answer(503, "Wed, 21 Oct 2026 07:28:00 GMT")).retryAfterMs).toBeUndefined();
        expect(errorOptions(answer(503, "-5")).retryAfterMs).toBeUndefined();
        expect(errorOptions(answer(503, "")).retryAfterMs).toBeUndefined();
    });
});

describe("serverErrorMessage", () => {
    it("prefers the JSON error message, then the error string, then a message field", async () => {
        const body = (value: unknown) => new Response(JSON.stringify(value), { status: 400 });
        expect(await serverErrorMessage(body({ error: { code: "x", message: "bad socket_id" } }))).toBe(
            "bad socket_id"
        );
        expect(await serverErrorMessage(body({ error: "Forbidden" }))).toBe("Forbidden");
        expect(await serverErrorMessage(body({ message: "Not found" }))).toBe("Not found");
    });

    it("uses a short text body as it is, and drops a long one", async () => {
        expect(await serverErrorMessage(new Response("  Bad gateway \n", { status: 502 }))).toBe("Bad gateway");
        expect(await serverErrorMessage(new Response("x".repeat(201), { status: 502 }))).toBe("");
        expect(await serverErrorMessage(new Response(null, { status: 502 }))).toBe("");
    });
});

describe("failureReason", () => {
    it("is the message of an Error, or the thrown value as text", () => {
        expect(failureReason(new TypeError("fetch failed"))).toBe("fetch failed");
        expect(failureReason("offline")).toBe("offline");
    });
});
