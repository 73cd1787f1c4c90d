import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limiter } from "../middleware";

let server: http.Server;
let base = "";

beforeAll(async () => {
    const app = express();
    const ok: express.RequestHandler = (_req, res) => {
        res.json({ ok: true });
    };
    // Logs go through req.log: a silent stand-in (createApp gives the real one).
    app.use((req, _res, next) => {
        Object.defineProperty(req, "log", { value: { warn: () => undefined } });
        next();
    });
    app.get("/address", limiter({ perMinute: 2, what: "test" }), ok);
    app.get(
        "/session",
        limiter({
            perMinute: 1,
            what: "test",
            skip: req => req.get("x-relay") === "yes",
            keyOf: req => ({ key: req.get("x-session") ?? "none", per: "session" })
        }),
        ok
    );
    server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
    await new Promise<void>(resolve => server.close(() => resolve()));
});

describe("limiter", () => {
    it("counts per address with the draft-7 headers, then answers 429 with Retry-After and the JSON error", async () => {
        const first = await fetch(`${base}/address`);
        expect(first.status).toBe(200);
        expect(first.headers.get("ratelimit-policy")).toBe("2;w=60");
        expect(first.headers.get("ratelimit")).toMatch(/^limit=2, remaining=1, reset=(60|59)$/);
        const second = await fetch(`${base}/address`);
        expect(second.headers.get("ratelimit")).toMatch(/^limit=2, remaining=0, reset=\d+$/);
        const refused = await fetch(`${base}/address`);
        expect(refused.status).toBe(429);
        const retryAfter = Number(refused.headers.get("retry-after"));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(await refused.json()).toEqual({
            error: {
                code: "rate_limited",
                message: `Too many test requests from this address (limit 2 per minute); retry after ${retryAfter} s.`,
                details: { limit: 2, retryAfter, per: "address" }
            }
        });
    });

    it("counts under the key it is given, and requests it skips do not count", async () => {
        const as = (session: string, relay = false) =>
            fetch(`${base}/session`, { headers: { "X-Session": session, ...(relay ? { "X-Relay": "yes" } : {}) } });
        expect((await as("a")).status).toBe(200);
        const refused = await as("a");
        expect(refused.status).toBe(429);
        expect(((await refused.json()) as { error: { details: { per: string } } }).error.details.per).toBe("session");
        // Another session has its own budget; skipped (relayed) requests neither count nor get refused.
        expect((await as("b")).status).toBe(200);
        const relayed = await as("a", true);
        expect(relayed.status).toBe(200);
        expect(relayed.headers.get("ratelimit")).toBeNull();
    });
});
