/**
 * The bench plumbing end to end with real child processes: the bare ws baseline and the companion
 * server (compiled children), raw subscribers, the keep-alive HTTP client, IPC stats and shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchClientConfig, openBaselineSockets, openRawPusherSockets, type RawPool } from "../clients";
import { HttpClient, runLoad } from "../http";
import {
    BENCH_API_KEY,
    type ChildHandle,
    compileChildren,
    startBaselineProcess,
    startServerProcess
} from "../processes";

function nextFrames(pool: RawPool, wanted: number, timeoutMs = 5_000): Promise<Array<{ index: number; text: string }>> {
    const frames: Array<{ index: number; text: string }> = [];
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${frames.length} of ${wanted} frames`)), timeoutMs);
        pool.onFrame((index, text) => {
            frames.push({ index, text });
            if (frames.length === wanted) {
                clearTimeout(timer);
                resolve(frames);
            }
        });
    });
}

describe("bench children", () => {
    let baseline: ChildHandle;
    let server: ChildHandle;

    beforeAll(async () => {
        await compileChildren();
        [baseline, server] = await Promise.all([startBaselineProcess(), startServerProcess({ logLevel: "silent" })]);
    }, 30_000);

    afterAll(async () => {
        await Promise.all([baseline?.close(), server?.close()]);
    });

    it("the baseline broadcasts a Pusher-shaped frame to every socket of a channel", async () => {
        const pool = await openBaselineSockets({
            url: baseline.url,
            count: 3,
            channelsOf: index => (index === 2 ? ["private-other"] : ["private-a", "private-b"])
        });
        const http = new HttpClient(baseline.url, 2);
        try {
            const received = nextFrames(pool, 2);
            const answer = await http.postJson("/publish", { channel: "private-a", event: "changed", data: '{"x":1}' });
            expect(answer).toMatchObject({ status: 200, body: '{"sent":2}' });
            const frames = await received;
            expect(frames.map(frame => frame.index).sort()).toEqual([0, 1]);
            expect(JSON.parse(frames[0].text)).toEqual({ event: "changed", channel: "private-a", data: '{"x":1}' });
            const batch = await http.postJson("/batch", {
                events: [
                    { channel: "private-b", event: "changed", data: "{}" },
                    { channel: "private-other", event: "changed", data: "{}" }
                ]
            });
            expect(batch.body).toBe('{"sent":3}');
            const stats = await baseline.stats(true);
            expect(stats.sockets).toBe(3);
            expect(stats.rss).toBeGreaterThan(10 * 1024 * 1024);
            expect(stats.cpuMicros).toBeGreaterThan(0);
        } finally {
            pool.close();
            http.close();
        }
    });

    it("the server child delivers a notification to raw Pusher-protocol subscribers", async () => {
        const http = new HttpClient(server.url, 4);
        const config = await fetchClientConfig(http);
        expect(config.cluster).toBe("local");
        const pool = await openRawPusherSockets({
            http,
            apiKey: BENCH_API_KEY,
            count: 2,
            channelsOf: () => ["private-Bench.Test.1"]
        });
        try {
            const received = nextFrames(pool, 2);
            const answer = await http.postJson(
                "/rest/pusher/notify",
                { entity: "Bench.Test", guid: "1", action: "changed", sender: "bench", data: "hello" },
                { Authorization: `Bearer ${BENCH_API_KEY}` }
            );
            expect(answer.status).toBe(200);
            const frames = await received;
            const frame = JSON.parse(frames[0].text) as { event: string; channel: string; data: string };
            expect(frame.event).toBe("changed");
            expect(frame.channel).toBe("private-Bench.Test.1");
            expect(JSON.parse(frame.data)).toMatchObject({ entity: "Bench.Test", guid: "1", data: "hello" });
            expect((await server.stats()).sockets).toBe(2);
        } finally {
            pool.close();
            http.close();
        }
    });

    it("runLoad stops at its request cap and counts failures", async () => {
        const http = new HttpClient(server.url, 4);
        try {
            const result = await runLoad({
                concurrency: 4,
                durationMs: 5_000,
                maxRequests: 20,
                task: async index => (await http.get(index % 2 === 0 ? "/healthz" : "/no-such-path")).status === 200
            });
            expect(result.requests).toBe(20);
            expect(result.ok).toBe(10);
            expect(result.failed).toBe(10);
            expect(result.latencies).toHaveLength(10);
        } finally {
            http.close();
        }
    });
});
