/**
 * Finding 5: the auth rate limit counted per client IP only (300/min): every browser behind one corporate NAT,
 * or behind a reverse proxy not listed in TRUST_PROXY, shared one budget (the 299th of 400 distinct sessions
 * from one address was refused); with TRUST_PROXY=1 a client reaching the server directly chose its own key
 * through X-Forwarded-For.
 *
 * Now: RATE_LIMIT_AUTH counts per Mendix session, keyed on the session cookie by name (XASSESSIONID and
 * __Host-XASSESSIONID, MENDIX_SESSION_COOKIE), never the whole Cookie header, and only an HMAC of its value is
 * kept (unit tests of the key: server/__tests__/session-key.test.ts); RATE_LIMIT_AUTH_ADDRESS (default 6,000)
 * is the per-address backstop.
 */
import type http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config";
import { pool, postForm, startApp, startHttpServer, type Answer, type AppUnderTest } from "../reliability/harness";

const FIELDS = { socket_id: "1.2", channel_name: "private-Sales.Order.1" };

let app: AppUnderTest | undefined;
let access: { url: string; close(): Promise<void> } | undefined;
afterEach(async () => {
    await app?.close();
    app = undefined;
    await access?.close();
    access = undefined;
});

/** A Mendix access check that accepts every session whose cookie value starts with `sess-` (any cookie name). */
async function startAccess(): Promise<string> {
    access = await startHttpServer((req: http.IncomingMessage, res: http.ServerResponse) => {
        const ok = /=sess-/.test(req.headers.cookie ?? "");
        res.writeHead(ok ? 200 : 401, { "Content-Type": "application/json" }).end(
            ok ? '{"user":"someone"}' : '{"error":"no session"}'
        );
    });
    return access.url;
}

async function start(env: NodeJS.ProcessEnv = {}): Promise<AppUnderTest> {
    app = await startApp({ MENDIX_APP_URL: await startAccess(), ...env });
    return app;
}

function auth(target: AppUnderTest, headers: Record<string, string>): Promise<Answer> {
    return postForm(target.evidence, `${target.url}/rest/pusher/auth`, FIELDS, headers);
}

function expectLimited(answer: Answer, per: "session" | "address"): void {
    expect(answer.status, answer.text).toBe(429);
    const retryAfter = Number(answer.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(answer.json).toMatchObject({
        error: { code: "rate_limited", message: expect.stringContaining(`from this ${per}`), details: { per } }
    });
}

describe("finding 5: auth rate limits that hold under NAT", () => {
    it("500 distinct sessions from one address all get signatures (defaults)", async () => {
        const target = await start();
        const sessions = Array.from({ length: 500 }, (_, i) => `sess-${i}-${"x".repeat(20)}`);
        const answers = await pool(sessions, 20, session =>
            auth(target, { Cookie: `XASSESSIONID=${session}`, "X-Csrf-Token": "t" })
        );
        const statuses = answers.map(answer => answer.status);
        const signed = statuses.filter(status => status === 200).length;
        console.log(`[security] 500 distinct sessions from one address: ${signed} signed`);
        expect(signed).toBe(500);
    });

    it("one session flooding gets 429 with Retry-After after 300, even with a dummy cookie varied next to it; its neighbours do not", async () => {
        const target = await start();
        const statuses: number[] = [];
        for (let i = 0; i < 300; i++) {
            statuses.push((await auth(target, { Cookie: `dummy=${i}; XASSESSIONID=sess-flood; other=${i}` })).status);
        }
        expect(statuses.every(status => status === 200)).toBe(true);
        const refused = await auth(target, { Cookie: `XASSESSIONID=sess-flood; dummy=new` });
        expectLimited(refused, "session");
        // Another browser behind the same address is not affected.
        expect((await auth(target, { Cookie: "XASSESSIONID=sess-neighbour" })).status).toBe(200);
    });

    it("with TRUST_PROXY=1 a direct client cannot buy a new budget by rotating X-Forwarded-For", async () => {
        const target = await start({ TRUST_PROXY: "1", RATE_LIMIT_AUTH: "5" });
        for (let i = 0; i < 5; i++) {
            const answer = await auth(target, { Cookie: "XASSESSIONID=sess-a", "X-Forwarded-For": `203.0.113.${i}` });
            expect(answer.status).toBe(200);
        }
        expectLimited(
            await auth(target, { Cookie: "XASSESSIONID=sess-a", "X-Forwarded-For": "198.51.100.1" }),
            "session"
        );
        expect(target.config.warnings.join("\n")).toMatch(/TRUST_PROXY=1 trusts X-Forwarded-For from whoever connects/);
    });

    it("reads the __Host- form and MENDIX_SESSION_COOKIE; the same value under both names is one session", async () => {
        const target = await start({ RATE_LIMIT_AUTH: "3" });
        expect((await auth(target, { Cookie: "XASSESSIONID=sess-v" })).status).toBe(200);
        expect((await auth(target, { Cookie: "__Host-XASSESSIONID=sess-v" })).status).toBe(200);
        expect((await auth(target, { Cookie: "XASSESSIONID=sess-v; __Host-XASSESSIONID=sess-v" })).status).toBe(200);
        expectLimited(await auth(target, { Cookie: "__Host-XASSESSIONID=sess-v" }), "session");
        await app!.close();
        await access!.close();

        const custom = await start({ RATE_LIMIT_AUTH: "2", MENDIX_SESSION_COOKIE: "JSESSIONID" });
        expect((await auth(custom, { Cookie: "JSESSIONID=sess-j" })).status).toBe(200);
        expect((await auth(custom, { Cookie: "__Host-JSESSIONID=sess-j" })).status).toBe(200);
        expectLimited(await auth(custom, { Cookie: "JSESSIONID=sess-j" }), "session");
        expect((await auth(custom, { Cookie: "JSESSIONID=sess-k" })).status).toBe(200);
    });

    it("invented sessions from one address stop at the per-address backstop RATE_LIMIT_AUTH_ADDRESS", async () => {
        const target = await start({ RATE_LIMIT_AUTH_ADDRESS: "20" });
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) {
            statuses.push((await auth(target, { Cookie: `XASSESSIONID=sess-invented-${i}` })).status);
        }
        expect(statuses.every(status => status === 200)).toBe(true);
        expectLimited(await auth(target, { Cookie: "XASSESSIONID=sess-invented-20" }), "address");
        expect(target.config.rateLimitAuthAddress).toBe(20);
        const defaults = loadConfig({});
        expect({ perSession: defaults.rateLimitAuth, perAddress: defaults.rateLimitAuthAddress }).toEqual({
            perSession: 300,
            perAddress: 6_000
        });
    });

    it("keeps only an HMAC of the session value: never the cookie in keys, answers or logs", async () => {
        const secretValue = `sess-${"s3cr3t".repeat(6)}`;
        const target = await start({ RATE_LIMIT_AUTH: "1" });
        expect((await auth(target, { Cookie: `XASSESSIONID=${secretValue}` })).status).toBe(200);
        const refused = await auth(target, { Cookie: `XASSESSIONID=${secretValue}` });
        expectLimited(refused, "session");
        expect(refused.text).not.toContain("s3cr3t");
        expect(target.evidence.logs.some(line => line.includes("rate limited"))).toBe(true);
        expect(target.evidence.logs.filter(line => line.includes("s3cr3t"))).toEqual([]);
    });
});
