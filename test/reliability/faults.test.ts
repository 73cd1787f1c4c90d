/**
 * Faults of the two things the server depends on, and recovery without a restart:
 *  - the Mendix access check: connection refused, slower than MENDIX_TIMEOUT_MS, 500, garbage, hanging under
 *    concurrency -> 503 access_check_unavailable (never a signature), then 200 again once it is back;
 *  - the Pusher HTTP API (PUSHER_HOST mode against a fake): 5xx, timeouts, connection refused -> bounded
 *    retries with backoff, then 502 broker_error; 4xx are not retried; a batch never half-sends without
 *    saying which items were not sent (`details.failed`), and what was sent is exactly the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    BEARER,
    BROKER,
    GOOD_COOKIE,
    GOOD_CSRF,
    expectJsonError,
    expectedAuth,
    freePort,
    postForm,
    postJson,
    pusherHostEnv,
    request,
    startApp,
    startFakeMendix,
    startFakePusherApi,
    withBrokerRetry,
    type Answer,
    type AppUnderTest,
    type FakeMendix,
    type FakePusherApi
} from "./harness";

const SESSION = { Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF };
const faults = { accessCheck: 0, pusherApi: 0 };

afterAll(() => {
    console.log(
        `[reliability] faults injected: ${faults.accessCheck} into the Mendix access check, ${faults.pusherApi} into the Pusher HTTP API`
    );
});

function expectCode(answer: Answer, status: number, code: string): void {
    expect(answer.status, answer.text).toBe(status);
    expect(expectJsonError(answer, "fault")).toBe(code);
}

describe("Mendix access check faults", () => {
    let mendix: FakeMendix;
    let app: AppUnderTest;
    const fields = { socket_id: "5.6", channel_name: "private-Sales.Order.5" };
    const signature = expectedAuth(BROKER.key, BROKER.secret, "5.6", "private-Sales.Order.5");
    const auth = () => postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, SESSION);

    async function expectRecovered(): Promise<void> {
        const answer = await auth();
        expect(answer.status, answer.text).toBe(200);
        // With the catch-up position of a first subscription (docs/architecture-catchup.md).
        expect(answer.json).toEqual({
            auth: signature,
            catchup: { epoch: expect.any(String), seq: expect.any(Number) }
        });
    }

    beforeAll(async () => {
        mendix = await startFakeMendix();
        app = await startApp({ MENDIX_APP_URL: mendix.url, MENDIX_TIMEOUT_MS: "600", RATE_LIMIT_AUTH: "100000" });
        await expectRecovered();
    });
    afterAll(async () => {
        await app.close();
        await mendix.close();
    });

    it("down (connection refused) -> 503, then 200 once it listens again on the same port", async () => {
        await mendix.stop();
        for (let i = 0; i < 5; i++) {
            faults.accessCheck++;
            const answer = await auth();
            expectCode(answer, 503, "access_check_unavailable");
            expect(answer.text).not.toContain('"auth"');
        }
        await mendix.start();
        await expectRecovered();
    });

    it("slower than MENDIX_TIMEOUT_MS -> 503 within the timeout, then 200 when it is fast again", async () => {
        mendix.mode = "slow";
        mendix.slowMs = 2_500;
        for (let i = 0; i < 3; i++) {
            faults.accessCheck++;
            const started = Date.now();
            const answer = await auth();
            expectCode(answer, 503, "access_check_unavailable");
            // Answered at the timeout (600 ms), well before the slow answer (2.5 s) would have come.
            expect(Date.now() - started).toBeLessThan(2_000);
        }
        mendix.mode = "sessions";
        await expectRecovered();
    });

    it("answering 500 or HTML garbage -> 503, then 200 when it answers properly", async () => {
        for (const mode of ["error", "garbage"] as const) {
            mendix.mode = mode;
            for (let i = 0; i < 3; i++) {
                faults.accessCheck++;
                expectCode(await auth(), 503, "access_check_unavailable");
            }
            mendix.mode = "sessions";
            await expectRecovered();
        }
    });

    it("hanging under 30 concurrent requests -> all 503 in bounded time; the server keeps serving meanwhile", async () => {
        mendix.mode = "hang";
        const started = Date.now();
        const answeredAt: number[] = [];
        const pending = Promise.all(
            Array.from({ length: 30 }, async () => {
                faults.accessCheck++;
                const answer = await auth();
                answeredAt.push(Date.now());
                return answer;
            })
        );
        // The server is not blocked by the hanging checks: health answers before the first check times out.
        const health = await request(app.evidence, `${app.url}/healthz`);
        const healthAt = Date.now();
        expect(health.status).toBe(200);
        const answers = await pending;
        expect(healthAt).toBeLessThanOrEqual(Math.min(...answeredAt));
        expect(Date.now() - started).toBeLessThan(5_000);
        for (const answer of answers) {
            expectCode(answer, 503, "access_check_unavailable");
        }
        mendix.mode = "sessions";
        await expectRecovered();
    });
});

describe("Pusher HTTP API faults (PUSHER_HOST mode)", () => {
    let fake: FakePusherApi;
    let app: AppUnderTest;
    const POLICY = { attempts: 3, baseDelayMs: 60, timeoutMs: 300 };

    const notify = (data: string) =>
        postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify`,
            { topic: "Sales.Order.1", action: "refresh", data },
            BEARER
        );
    const batch = (count: number, tag: string) =>
        postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify/batch`,
            {
                notifications: Array.from({ length: count }, (_, i) => ({
                    topic: `Sales.Order.${i}`,
                    action: "refresh",
                    data: `${tag}-${i}`
                }))
            },
            BEARER
        );
    /** Indexes of the items of batch `tag` the fake really delivered, in delivery order. */
    const deliveredOf = (tag: string) =>
        fake.delivered
            .map(event => (JSON.parse(event.data) as { data?: string }).data ?? "")
            .filter(data => data.startsWith(`${tag}-`))
            .map(data => Number(data.slice(tag.length + 1)));

    beforeAll(async () => {
        fake = await startFakePusherApi();
        app = await startApp(pusherHostEnv(fake.port), withBrokerRetry(POLICY));
    });
    afterAll(async () => {
        await app.close();
        await fake.close();
    });

    it("a transient 5xx is retried: 200, delivered exactly once", async () => {
        fake.reset();
        fake.decide = n => (n === 1 ? 503 : "ok");
        faults.pusherApi++;
        const answer = await notify("transient");
        expect(answer.status, answer.text).toBe(200);
        expect(answer.json).toEqual({ triggered: 1, channels: ["private-Sales.Order.1"] });
        expect(fake.posts.map(post => post.verdict)).toEqual([503, "ok"]);
        expect(fake.delivered).toHaveLength(1);
        expect(fake.posts[1].at - fake.posts[0].at).toBeGreaterThanOrEqual(POLICY.baseDelayMs - 5);
        expect(fake.badSignatures).toBe(0);
    });

    it("a persistent 5xx: bounded retries with growing delays, then 502 broker_error", async () => {
        fake.reset();
        fake.decide = () => 500;
        faults.pusherApi += 3;
        const started = Date.now();
        const answer = await notify("persistent");
        expectCode(answer, 502, "broker_error");
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(fake.posts).toHaveLength(POLICY.attempts);
        const gaps = fake.posts.slice(1).map((post, i) => post.at - fake.posts[i].at);
        expect(gaps[0]).toBeGreaterThanOrEqual(POLICY.baseDelayMs - 5);
        expect(gaps[1]).toBeGreaterThanOrEqual(2 * POLICY.baseDelayMs - 5);
        expect(fake.delivered).toHaveLength(0);
        expect(answer.text).not.toContain("auth_signature");
        expect((answer.json as { error: { details: { reason: string } } }).error.details.reason).toMatch(/500/);
    });

    it("timeouts: every attempt times out, 502 within the bounded time", async () => {
        fake.reset();
        fake.decide = () => "hang";
        faults.pusherApi += 3;
        const started = Date.now();
        const answer = await notify("hang");
        expectCode(answer, 502, "broker_error");
        const took = Date.now() - started;
        expect(took).toBeGreaterThanOrEqual(POLICY.attempts * POLICY.timeoutMs);
        expect(took).toBeLessThan(3_000);
        expect(fake.posts).toHaveLength(POLICY.attempts);
    });

    it("a 4xx of the Pusher API is not retried (the request itself is refused): 502 after one call", async () => {
        fake.reset();
        fake.decide = () => 413;
        faults.pusherApi++;
        expectCode(await notify("refused"), 502, "broker_error");
        expect(fake.posts).toHaveLength(1);
    });

    it("recovers without a restart once the Pusher API answers again", async () => {
        fake.reset();
        const answer = await notify("recovered");
        expect(answer.status).toBe(200);
        expect(fake.delivered.map(event => (JSON.parse(event.data) as { data: string }).data)).toEqual(["recovered"]);
    });

    it("batch: a chunk failing for good -> 502 with details.failed = exactly the items not sent", async () => {
        fake.reset();
        // POST 1 = chunk 0 (ok), POSTs 2.. = chunk 1 (always 500); chunk 2 must never be sent.
        fake.decide = n => (n === 1 ? "ok" : 500);
        faults.pusherApi += 3;
        const answer = await batch(25, "b1");
        expectCode(answer, 502, "broker_error");
        const details = (answer.json as { error: { details: { triggered: number; failed: number[] } } }).error.details;
        expect(details.triggered).toBe(10);
        expect(details.failed).toEqual(Array.from({ length: 15 }, (_, i) => i + 10));
        const delivered = deliveredOf("b1");
        expect(delivered).toEqual(Array.from({ length: 10 }, (_, i) => i));
        // Nothing half-sent: delivered + failed = every item, no overlap.
        expect([...delivered, ...details.failed].sort((a, b) => a - b)).toEqual(
            Array.from({ length: 25 }, (_, i) => i)
        );
        expect(fake.posts.length).toBe(1 + POLICY.attempts);
        expect(fake.posts.every(post => post.events.length <= 10)).toBe(true);
    });

    it("batch: a chunk failing once is retried -> 200, every item delivered exactly once, in order", async () => {
        fake.reset();
        fake.decide = n => (n === 2 ? 502 : "ok");
        faults.pusherApi++;
        const answer = await batch(25, "b2");
        expect(answer.status, answer.text).toBe(200);
        expect((answer.json as { triggered: number }).triggered).toBe(25);
        expect(deliveredOf("b2")).toEqual(Array.from({ length: 25 }, (_, i) => i));
    });

    it("batch: the first chunk timing out -> 502 with nothing sent and every index failed", async () => {
        fake.reset();
        fake.decide = () => "hang";
        faults.pusherApi += 3;
        const answer = await batch(15, "b3");
        expectCode(answer, 502, "broker_error");
        const details = (answer.json as { error: { details: { triggered: number; failed: number[] } } }).error.details;
        expect(details).toMatchObject({ triggered: 0, failed: Array.from({ length: 15 }, (_, i) => i) });
        expect(deliveredOf("b3")).toEqual([]);
    });

    it("the Pusher API unreachable (connection refused) -> 502 in bounded time", async () => {
        const port = await freePort();
        const unreachable = await startApp(pusherHostEnv(port), withBrokerRetry(POLICY));
        try {
            faults.pusherApi += 3;
            const started = Date.now();
            const answer = await postJson(
                unreachable.evidence,
                `${unreachable.url}/rest/pusher/notify/batch`,
                { notifications: [{ topic: "A.B.1", action: "a" }] },
                BEARER
            );
            expectCode(answer, 502, "broker_error");
            expect((answer.json as { error: { details: unknown } }).error.details).toMatchObject({
                triggered: 0,
                failed: [0]
            });
            expect(Date.now() - started).toBeLessThan(2_000);
        } finally {
            await unreachable.close();
        }
    });
});
