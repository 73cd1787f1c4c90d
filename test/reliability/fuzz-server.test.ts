/**
 * Property-based bad input against the companion server's HTTP API (real app, real embedded broker, real
 * pusher-js listener): POST /rest/pusher/auth, /rest/pusher/notify and /rest/pusher/notify/batch with
 * malformed JSON, wrong types, huge strings, unicode, deep nesting, bad channel/action names, injected
 * socket ids, wrong content types and missing or wrong credentials.
 *
 * Invariants: never a 5xx; every refusal is the JSON error `{ error: { code, message } }` whose code matches
 * the status and the independent oracle in generators.ts; a signature only for a request entitled to it (and
 * then exactly HMAC(secret, "<socket_id>:<channel>")); every accepted notification on a watched channel
 * reaches the listener exactly once; afterwards the server still serves; no secret in any answer or log line.
 */
import fc from "fast-check";
import type PusherClient from "pusher-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    WATCHED_TOPICS,
    authCase,
    batchCase,
    notifyCase,
    type AuthCase,
    type HttpCase,
    type NotifyCase
} from "./generators";
import {
    BEARER,
    BROKER,
    checkProperty,
    createListener,
    expectJsonError,
    expectedAuth,
    postJson,
    request,
    startApp,
    startFakeMendix,
    until,
    type Answer,
    type AppUnderTest,
    type FakeMendix
} from "./harness";

/** Requests per property run (sent concurrently) and runs per property: 20 x (160 + 130 + 60) = 7,000. */
const PER_RUN = 20;
/** A fuzz property may take a while on a busy machine; every request inside is still bounded. */
const FUZZ_TIMEOUT_MS = 90_000;
const RUNS = { auth: 160, notify: 130, batch: 60 };
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

const tried = { auth: 0, notify: 0, batch: 0 };
const outcomes = new Map<string, number>();
const expectedDeliveries = new Map<string, number>();
const receivedDeliveries = new Map<string, number>();
const malformedPayloads: string[] = [];

let mendix: FakeMendix;
let app: AppUnderTest;
let listener: PusherClient;

function count(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
}

async function send(path: string, testCase: HttpCase): Promise<Answer> {
    return request(app.evidence, `${app.url}${path}`, {
        method: "POST",
        headers: testCase.headers,
        body: typeof testCase.body === "string" ? testCase.body : new Uint8Array(testCase.body)
    });
}

/** Returns a description of what is wrong with `answer`, or null. */
function problemWith(testCase: HttpCase, answer: Answer): string | null {
    const where = `${testCase.label}\n  -> ${answer.status} ${answer.text.slice(0, 400)}`;
    if (answer.status >= 500) {
        return `5xx: ${where}`;
    }
    const requestId = answer.headers.get("x-request-id") ?? "";
    if (!REQUEST_ID.test(requestId)) {
        return `bad X-Request-Id ${JSON.stringify(requestId)}: ${where}`;
    }
    const { expect: expected } = testCase;
    if (answer.status !== expected.status) {
        return `expected ${expected.status}${expected.codes ? ` ${expected.codes.join("|")}` : ""}: ${where}`;
    }
    if (answer.status !== 200) {
        let code: string;
        try {
            code = expectJsonError(answer, testCase.label);
        } catch (error) {
            return (error as Error).message;
        }
        if (expected.codes && !expected.codes.includes(code)) {
            return `expected code ${expected.codes.join("|")}, got ${code}: ${where}`;
        }
        if (answer.text.includes('"auth"')) {
            return `a refusal carries an auth field: ${where}`;
        }
        count(outcomes, `${answer.status} ${code}`);
        return null;
    }
    count(outcomes, "200");
    return null;
}

function checkAuth(testCase: AuthCase, answer: Answer): string | null {
    const problem = problemWith(testCase, answer);
    if (problem !== null || answer.status !== 200) {
        return problem;
    }
    if (testCase.signs === undefined) {
        return `signed a request that must not be signed: ${testCase.label}`;
    }
    const body = answer.json as Record<string, unknown>;
    const { socketId, channel } = testCase.signs;
    if (channel.startsWith("presence-")) {
        // The member is the access check's user ("alice", no display name), whatever the request said.
        const member = JSON.stringify({ user_id: "alice", user_info: { name: "alice" } });
        const wanted = expectedAuth(BROKER.key, BROKER.secret, socketId, `${channel}:${member}`);
        if (
            Object.keys(body).join() !== "auth,channel_data,catchup" ||
            body.auth !== wanted ||
            body.channel_data !== member
        ) {
            return `wrong presence signature ${answer.text} (wanted ${wanted} for ${member}): ${testCase.label}`;
        }
        return null;
    }
    const wanted = expectedAuth(BROKER.key, BROKER.secret, socketId, channel);
    // `auth`, and the catch-up position of a first subscription (docs/architecture-catchup.md).
    if (Object.keys(body).join() !== "auth,catchup" || body.auth !== wanted) {
        return `wrong signature ${answer.text} (wanted ${wanted}): ${testCase.label}`;
    }
    return null;
}

function checkNotify(testCase: NotifyCase, answer: Answer): string | null {
    const problem = problemWith(testCase, answer);
    if (problem !== null || answer.status !== 200) {
        return problem;
    }
    const deliveries = testCase.deliveries ?? [];
    const channels = [...new Set(deliveries.map(delivery => delivery.channel))];
    const body = answer.json as { triggered?: unknown; channels?: unknown };
    if (body.triggered !== deliveries.length || JSON.stringify(body.channels) !== JSON.stringify(channels)) {
        return `wrong answer ${answer.text} (wanted ${deliveries.length} to ${JSON.stringify(channels)}): ${testCase.label}`;
    }
    for (const delivery of deliveries) {
        if (delivery.socketId !== listener.connection.socket_id) {
            count(expectedDeliveries, delivery.channel);
        }
    }
    return null;
}

async function runBatchOfCases<T extends HttpCase>(
    path: string,
    cases: T[],
    check: (testCase: T, answer: Answer) => string | null
): Promise<void> {
    const answers = await Promise.all(cases.map(testCase => send(path, testCase)));
    const problems = cases.map((testCase, index) => check(testCase, answers[index])).filter(p => p !== null);
    if (problems.length > 0) {
        throw new Error(problems.join("\n"));
    }
}

beforeAll(async () => {
    mendix = await startFakeMendix();
    app = await startApp({
        MENDIX_APP_URL: mendix.url,
        MENDIX_TIMEOUT_MS: "3000",
        RATE_LIMIT_AUTH: "1000000",
        RATE_LIMIT_NOTIFY: "1000000"
    });
    listener = createListener(app);
    await Promise.all(
        WATCHED_TOPICS.map(
            topic =>
                new Promise<void>((resolve, reject) => {
                    const channel = listener.subscribe(`private-${topic}`);
                    channel.bind("pusher:subscription_succeeded", () => resolve());
                    channel.bind("pusher:subscription_error", (error: unknown) =>
                        reject(new Error(`subscription refused: ${JSON.stringify(error)}`))
                    );
                    channel.bind_global((event: string, data: unknown) => {
                        if (event.startsWith("pusher:")) {
                            return;
                        }
                        count(receivedDeliveries, `private-${topic}`);
                        const payload = data as Record<string, unknown>;
                        const ok =
                            payload !== null &&
                            typeof payload === "object" &&
                            ["entity", "guid", "changedDate", "sender", "actionName"].every(
                                k => typeof payload[k] === "string"
                            ) &&
                            payload.actionName === event &&
                            !Number.isNaN(Date.parse(payload.changedDate as string));
                        if (!ok) {
                            malformedPayloads.push(JSON.stringify(data).slice(0, 200));
                        }
                    });
                })
        )
    );
});

afterAll(async () => {
    listener?.disconnect();
    await app?.close();
    await mendix?.close();
    const total = tried.auth + tried.notify + tried.batch;
    console.log(
        `[reliability] server fuzz: ${total} requests (auth ${tried.auth}, notify ${tried.notify}, batch ${tried.batch}); ` +
            `outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; ` +
            `deliveries on watched channels ${JSON.stringify(Object.fromEntries(receivedDeliveries))}`
    );
});

describe("fuzzed requests to the companion server", () => {
    it(
        "POST /rest/pusher/auth: no 5xx, JSON errors, signatures only for entitled requests",
        async () => {
            await checkProperty(
                fc.array(authCase, { minLength: PER_RUN, maxLength: PER_RUN }),
                RUNS.auth,
                async cases => {
                    tried.auth += cases.length;
                    await runBatchOfCases("/rest/pusher/auth", cases, checkAuth);
                }
            );
            expect(tried.auth).toBeGreaterThanOrEqual(RUNS.auth * PER_RUN);
            // The access check got only well-formed requests for private and presence channels.
            for (const check of mendix.checks) {
                expect(typeof check.channel).toBe("string");
                expect([`private-${String(check.topic)}`, `presence-${String(check.topic)}`]).toContain(check.channel);
                expect(String(check.channel)).toMatch(/^(?:private|presence)-[A-Za-z0-9_\-=@,.;]{1,156}$/);
            }
        },
        FUZZ_TIMEOUT_MS
    );

    it(
        "POST /rest/pusher/notify: no 5xx, JSON errors, 200 only for valid notifications",
        async () => {
            await checkProperty(
                fc.array(notifyCase, { minLength: PER_RUN, maxLength: PER_RUN }),
                RUNS.notify,
                async cases => {
                    tried.notify += cases.length;
                    await runBatchOfCases("/rest/pusher/notify", cases, checkNotify);
                }
            );
            expect(tried.notify).toBeGreaterThanOrEqual(RUNS.notify * PER_RUN);
        },
        FUZZ_TIMEOUT_MS
    );

    it(
        "POST /rest/pusher/notify/batch: no 5xx, JSON errors, all-or-nothing validation",
        async () => {
            await checkProperty(
                fc.array(batchCase, { minLength: PER_RUN, maxLength: PER_RUN }),
                RUNS.batch,
                async cases => {
                    tried.batch += cases.length;
                    await runBatchOfCases("/rest/pusher/notify/batch", cases, checkNotify);
                }
            );
            expect(tried.batch).toBeGreaterThanOrEqual(RUNS.batch * PER_RUN);
        },
        FUZZ_TIMEOUT_MS
    );

    it("afterwards: every accepted notification on a watched channel arrived exactly once, well-formed", async () => {
        const channels = WATCHED_TOPICS.map(topic => `private-${topic}`);
        const settled = () => channels.every(c => (receivedDeliveries.get(c) ?? 0) >= (expectedDeliveries.get(c) ?? 0));
        await until(settled, 10_000, "the deliveries of the accepted notifications").catch(() => undefined);
        // Give late duplicates a moment to show up.
        await new Promise(resolve => setTimeout(resolve, 200));
        const snapshot = (map: Map<string, number>) => Object.fromEntries(channels.map(c => [c, map.get(c) ?? 0]));
        expect(snapshot(receivedDeliveries)).toEqual(snapshot(expectedDeliveries));
        expect(channels.reduce((sum, c) => sum + (expectedDeliveries.get(c) ?? 0), 0)).toBeGreaterThan(30);
        expect(malformedPayloads).toEqual([]);
    });

    it("afterwards: the server is healthy, serves a real notify to a real listener, and leaked no secret", async () => {
        const health = await request(app.evidence, `${app.url}/healthz`);
        expect(health.status).toBe(200);
        expect(health.json).toEqual({ status: "ok" });
        const channel = listener.channel(`private-${WATCHED_TOPICS[0]}`);
        const received = new Promise<unknown>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("no final notification")), 5_000);
            channel.bind("after-fuzz", (data: unknown) => {
                clearTimeout(timer);
                resolve(data);
            });
        });
        const answer = await postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify`,
            { topic: WATCHED_TOPICS[0], action: "after-fuzz", sender: "fuzz", data: "still alive" },
            BEARER
        );
        expect(answer.status).toBe(200);
        expect(await received).toMatchObject({ entity: "Fuzz.Item", guid: "1", sender: "fuzz", data: "still alive" });
        expect(app.evidence.leaks()).toEqual([]);
        expect(app.evidence.logs.length).toBeGreaterThan(0);
    });
});
