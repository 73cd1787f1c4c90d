/**
 * The key of the per-session auth rate limit. Behind a corporate NAT, or a proxy whose address is not in
 * TRUST_PROXY, every browser shares one client address, so the auth limit counts per Mendix session instead:
 * the value of the session cookie, found by name (`XASSESSIONID` and its `__Host-` form, MENDIX_SESSION_COOKIE),
 * never the whole `Cookie` header (a flooder would vary a dummy cookie next to it to get a fresh budget per
 * request). Only an HMAC of the value with a key made at start is kept: the cookie itself is never stored,
 * logged or compared.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Request } from "express";
import { ipKeyGenerator } from "express-rate-limit";

/** The `__Host-` form Mendix uses for its session cookie on HTTPS. */
export const HOST_PREFIX = "__Host-";

/** Values of the cookies named `name` or `__Host-<name>` in a `Cookie` header, in order. */
export function sessionCookieValues(header: string | undefined, name: string): string[] {
    if (header === undefined || header === "") {
        return [];
    }
    const hostName = HOST_PREFIX + name;
    const values: string[] = [];
    for (const pair of header.split(";")) {
        const equals = pair.indexOf("=");
        if (equals < 0) {
            continue;
        }
        const cookieName = pair.slice(0, equals).trim();
        if (cookieName !== name && cookieName !== hostName) {
            continue;
        }
        let value = pair.slice(equals + 1).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
            value = value.slice(1, -1);
        }
        if (value !== "") {
            values.push(value);
        }
    }
    return values;
}

export type RateKey = { kind: "session"; key: string } | { kind: "address"; key: string };

export interface SessionKeyer {
    /**
     * `session` with an HMAC of the session cookie's value when the request carries exactly one session (the
     * same value under both names counts as one) and no `Authorization` header; otherwise `address` with the
     * client address (IPv6 per /56): no session, several different values (only a forger sends them), or an
     * API key (browsers never send one; a key guesser could invent a session per guess).
     */
    of(req: Request): RateKey;
}

export function createSessionKeyer(cookieName: string): SessionKeyer {
    const secret = randomBytes(32);
    return {
        of(req) {
            const values = new Set(sessionCookieValues(req.headers.cookie, cookieName));
            if (values.size === 1 && req.headers.authorization === undefined) {
                const [value] = values;
                return {
                    kind: "session",
                    key: "s:" + createHmac("sha256", secret).update(value).digest("base64url").slice(0, 32)
                };
            }
            return { kind: "address", key: "a:" + ipKeyGenerator(req.ip ?? "") };
        }
    };
}
