/**
 * The bound on concurrent access checks (server/mendix/gate.ts) through the real access client against a real HTTP
 * app on 127.0.0.1 that counts how many checks it serves at once.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAccessClient, type AccessClient, type AccessResult } from "../mendix/access";
import { createGate } from "../mendix/gate";

/** An access check app answering 200 after `delayMs`, counting the checks it holds at once. */
async function startSlowApp(delayMs: number) {
    const state = { running: 0, peak: 0, served: 0, delayMs };
    const server = http.createServer((req, res) => {
        state.running++;
        state.peak = Math.max(state.peak, state.running);
        req.resume();
        setTimeout(() => {
            state.running--;
            state.served++;
            res.writeHead(200, { "Content-Type": "application/json" }).end('{"user":"slow"}');
        }, state.delayMs);
    });
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const close = () =>
        new Promise<void>(resolve => {
            server.close(() => resolve());
            server.closeAllConnections();
        });
    return { state, url, close };
}

describe("access checks at once (MENDIX_MAX_CONCURRENT, MENDIX_QUEUE_*)", () => {
    let app: Awaited<ReturnType<typeof startSlowApp>>;
    let client: AccessClient | undefined;

    beforeEach(async () => {
        app = await startSlowApp(40);
    });
    afterEach(async () => {
        client?.close();
        client = undefined;
        await app.close();
    });

    const check = (target: AccessClient) =>
        target.check({ baseUrl: app.url, timeoutMs: 2_000, channel: "private-A.B.1", topic: "A.B.1" });

    it("sends at most maxConcurrent checks to the Mendix app; the others wait their turn and all are answered", async () => {
        client = createAccessClient({ limits: { maxConcurrent: 4, queueLimit: 1_000, queueTimeoutMs: 5_000 } });
        const results = await Promise.all(Array.from({ length: 60 }, () => check(client!)));
        expect(results.every(result => result.outcome === "allowed")).toBe(true);
        expect(app.state.served).toBe(60);
        expect(app.state.peak).toBe(4);
        expect(client.stats()).toMatchObject({ running: 0, waiting: 0, peak: 4, refused: 0 });
    });

    it("answers 'unavailable' with a Retry-After when the queue is full or a check waited too long", async () => {
        app.state.delayMs = 400;
        client = createAccessClient({ limits: { maxConcurrent: 2, queueLimit: 2, queueTimeoutMs: 150 } });
        const started = Date.now();
        const results: AccessResult[] = await Promise.all(Array.from({ length: 6 }, () => check(client!)));
        const outcomes = results.map(result => (result.outcome === "unavailable" ? result.reason : result.outcome));
        // 2 run, 2 wait (and time out after 150 ms: the running ones take 400 ms), 2 find the queue full.
        expect(outcomes.filter(outcome => outcome === "allowed")).toHaveLength(2);
        expect(outcomes.filter(outcome => /did not take the access check within 150 ms/.test(outcome))).toHaveLength(2);
        expect(outcomes.filter(outcome => /too many access checks are waiting/.test(outcome))).toHaveLength(2);
        for (const result of results) {
            if (result.outcome === "unavailable") {
                expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
                expect(result.retryAfterSeconds).toBeLessThanOrEqual(2);
            }
        }
        expect(app.state.peak).toBe(2);
        expect(app.state.served).toBe(2);
        expect(Date.now() - started).toBeLessThan(2_000);
    });
});

describe("gate", () => {
    it("starts waiting tasks first come, first served, and a failing task frees its slot", async () => {
        const gate = createGate({ maxConcurrent: 1, queueLimit: 10, queueTimeoutMs: 1_000 });
        const order: number[] = [];
        const task =
            (n: number, fail = false) =>
            async () => {
                order.push(n);
                await new Promise(resolve => setTimeout(resolve, 5));
                if (fail) {
                    throw new Error(`task ${n}`);
                }
                return n;
            };
        const runs = [gate.run(task(1, true), () => -1), gate.run(task(2), () => -1), gate.run(task(3), () => -1)];
        await expect(runs[0]).rejects.toThrow("task 1");
        await expect(Promise.all(runs.slice(1))).resolves.toEqual([2, 3]);
        expect(order).toEqual([1, 2, 3]);
        expect(gate.stats()).toEqual({ running: 0, waiting: 0, peak: 1, refused: 0 });
    });
});
