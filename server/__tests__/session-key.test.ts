/**
 * The key of the per-session auth rate limit (finding 5 of the security review; the behaviour over HTTP is in
 * test/security/auth-rate-limit.test.ts): the session cookie by name, an HMAC of its value, never the value.
 */
import type { Request } from "express";
import { describe, expect, it } from "vitest";
import { createSessionKeyer, sessionCookieValues } from "../session-key";

const SECRET_VALUE = `sess-${"s3cr3t".repeat(6)}`;

describe("session rate-limit key", () => {
    it("is an HMAC of the session cookie's value, found by name; otherwise the address", () => {
        const keyer = createSessionKeyer("XASSESSIONID");
        const request = (cookie: string, extra: Record<string, string> = {}) =>
            ({ headers: { cookie, ...extra }, ip: "203.0.113.5" }) as unknown as Request;
        const key = keyer.of(request(`a=1; XASSESSIONID=${SECRET_VALUE}`));
        expect(key.kind).toBe("session");
        expect(key.key).not.toContain("s3cr3t");
        expect(keyer.of(request(`b=2; XASSESSIONID=${SECRET_VALUE}; c=3`))).toEqual(key);
        expect(createSessionKeyer("XASSESSIONID").of(request(`XASSESSIONID=${SECRET_VALUE}`)).key).not.toBe(key.key);
        // Two different values (a forger), no session, or an API key: the address counts.
        expect(keyer.of(request("XASSESSIONID=one; __Host-XASSESSIONID=two"))).toEqual({
            kind: "address",
            key: "a:203.0.113.5"
        });
        expect(keyer.of(request("theme=dark")).kind).toBe("address");
        expect(keyer.of(request("XASSESSIONID=one", { authorization: "Bearer guess" })).kind).toBe("address");
        expect(
            sessionCookieValues('XASSESSIONIDX=no; XASSESSIONID="quoted"; x=XASSESSIONID=no', "XASSESSIONID")
        ).toEqual(["quoted"]);
    });
});
