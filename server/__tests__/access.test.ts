import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAccess, type FakeAccess } from "../../test/api/fake-access";
import { ACCESS_CHECK_PATH, accessCheckUrl, checkAccess, type AccessCheckRequest } from "../mendix/access";

let fake: FakeAccess;

beforeAll(async () => {
    fake = await startFakeAccess();
});

afterAll(async () => {
    await fake.close();
});

function request(overrides: Partial<AccessCheckRequest> = {}): AccessCheckRequest {
    return {
        baseUrl: fake.url,
        timeoutMs: 1000,
        channel: "private-Sales.Order.1",
        topic: "Sales.Order.1",
        cookie: "XASSESSIONID=abc; other=1",
        csrfToken: "csrf-123",
        requestId: "req-1",
        ...overrides
    };
}

describe("checkAccess", () => {
    it("builds the access check URL from the app base URL", () => {
        expect(accessCheckUrl("https://app.example.com/")).toBe(`https://app.example.com${ACCESS_CHECK_PATH}`);
    });

    it("allows on 200 { user } and forwards cookie, CSRF token and JSON { channel, topic }", async () => {
        fake.mode = "allow";
        fake.user = "maria";
        const before = fake.requests.length;
        expect(await checkAccess(request())).toEqual({ outcome: "allowed", user: "maria" });
        expect(fake.requests.slice(before)).toEqual([
            {
                method: "POST",
                path: ACCESS_CHECK_PATH,
                cookie: "XASSESSIONID=abc; other=1",
                csrfToken: "csrf-123",
                contentType: "application/json",
                requestId: "req-1",
                body: { channel: "private-Sales.Order.1", topic: "Sales.Order.1" }
            }
        ]);
    });

    it("sends no Cookie or X-Csrf-Token header when the browser sent none", async () => {
        fake.mode = "unauthenticated";
        const before = fake.requests.length;
        expect(await checkAccess(request({ cookie: undefined, csrfToken: undefined }))).toEqual({
            outcome: "not_authenticated"
        });
        expect(fake.requests[before].cookie).toBeUndefined();
        expect(fake.requests[before].csrfToken).toBeUndefined();
    });

    it("maps 403 to forbidden", async () => {
        fake.mode = "forbidden";
        expect(await checkAccess(request())).toEqual({ outcome: "forbidden" });
    });

    it.each([
        ["error", /answered 500/],
        ["not_found", /answered 404: is the published REST service/],
        ["garbage", /200 without JSON/],
        ["wrong_json", /200 without \{ "user"/],
        ["redirect", /answered 302/]
    ] as const)("answers unavailable for %s", async (mode, reason) => {
        fake.mode = mode;
        const result = await checkAccess(request());
        expect(result.outcome).toBe("unavailable");
        expect(result.outcome === "unavailable" && result.reason).toMatch(reason);
    });

    it("answers unavailable after the timeout when the app hangs", async () => {
        fake.mode = "hang";
        const started = Date.now();
        const result = await checkAccess(request({ timeoutMs: 200 }));
        const elapsed = Date.now() - started;
        expect(result).toEqual({ outcome: "unavailable", reason: "the access check did not answer within 200 ms" });
        expect(elapsed).toBeGreaterThanOrEqual(190);
        expect(elapsed).toBeLessThan(2000);
    });

    it("answers unavailable when the app cannot be reached", async () => {
        const closed = await startFakeAccess();
        const url = closed.url;
        await closed.close();
        const result = await checkAccess(request({ baseUrl: url }));
        expect(result.outcome).toBe("unavailable");
        expect(result).toMatchObject({
            outcome: "unavailable",
            reason: "the access check could not be reached",
            cause: expect.stringMatching(/ECONNREFUSED/)
        });
    });
});
