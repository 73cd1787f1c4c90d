/**
 * 3. Notify API throughput: requests per second of `POST /rest/pusher/notify` (16 in flight, keep-alive) on the
 * companion server and, in the same run, on two floors given the same body: a minimal Express 5 endpoint
 * (`express.json()` + `res.json()`, lib/express-child.ts) and a bare `node:http` server that does the route's work
 * without any check (parse the JSON, build the payload and frame, write it to the channel's sockets;
 * lib/baseline-child.ts). Rounds rotate the order of the servers; the median round counts. Then
 * `/notify/batch` with 100 notifications per call (4 in flight) on the companion server. Nobody is subscribed:
 * this is the cost of accepting and triggering; delivery is measured by the fan-out benchmark.
 */
import { HttpClient, type LoadResult, runLoad } from "./lib/http";
import {
    BENCH_API_KEY,
    type ChildHandle,
    startBaselineProcess,
    startExpressProcess,
    startServerProcess
} from "./lib/processes";
import type { BenchContext, Measurement, Section, Target } from "./lib/report";
import { count, median, ms, percent, ratio, summarize } from "./lib/stats";

/** `/notify` on the companion server: at least this share of the minimal Express endpoint's requests per second. */
export const TARGET_SHARE_OF_EXPRESS = 0.7;
const BATCH_SIZE = 100;
const SINGLE_IN_FLIGHT = 16;
const BATCH_IN_FLIGHT = 4;
const BEARER = { Authorization: `Bearer ${BENCH_API_KEY}` };

export type SideName = "ours" | "express" | "http";
const SIDES: SideName[] = ["ours", "express", "http"];
const SIDE_LABEL: Record<SideName, string> = {
    ours: "companion server (as built)",
    express: "minimal Express 5: express.json() + res.json()",
    http: "bare node:http: parse, frame, write"
};

export interface NotifyRun {
    side: SideName;
    endpoint: "single" | "batch";
    concurrency: number;
    requests: number;
    failed: number;
    requestsPerSecond: number;
    notificationsPerSecond: number;
    requestLatencyP50: number;
    requestLatencyP99: number;
    serverCpuMicrosPerNotification: number;
}

function notification(index: number) {
    return { entity: "Bench.Api", guid: String(index % 1000), action: "changed", sender: "bench", data: String(index) };
}

async function measure(
    server: ChildHandle,
    side: SideName,
    endpoint: NotifyRun["endpoint"],
    durationMs: number,
    warmUpMs: number
): Promise<NotifyRun> {
    const concurrency = endpoint === "single" ? SINGLE_IN_FLIGHT : BATCH_IN_FLIGHT;
    const http = new HttpClient(server.url, concurrency);
    try {
        const perCall = endpoint === "single" ? 1 : BATCH_SIZE;
        const headers = side === "ours" ? BEARER : {};
        const task = async (call: number): Promise<boolean> => {
            const answer =
                endpoint === "single"
                    ? await http.postJson("/rest/pusher/notify", notification(call), headers)
                    : await http.postJson(
                          "/rest/pusher/notify/batch",
                          {
                              notifications: Array.from({ length: BATCH_SIZE }, (_x, item) =>
                                  notification(call * BATCH_SIZE + item)
                              )
                          },
                          headers
                      );
            return answer.status === 200;
        };
        await runLoad({ concurrency, durationMs: warmUpMs, maxRequests: 100_000, task });
        const before = await server.stats();
        const load: LoadResult = await runLoad({ concurrency, durationMs, maxRequests: 1_000_000, task });
        const after = await server.stats();
        const latencies = summarize(load.latencies);
        return {
            side,
            endpoint,
            concurrency,
            requests: load.requests,
            failed: load.failed,
            requestsPerSecond: load.perSecond,
            notificationsPerSecond: load.perSecond * perCall,
            requestLatencyP50: latencies.p50,
            requestLatencyP99: latencies.p99,
            serverCpuMicrosPerNotification: (after.cpuMicros - before.cpuMicros) / Math.max(1, load.ok * perCall)
        };
    } finally {
        http.close();
    }
}

/** The run whose requests per second is the median of `runs`. */
function medianRun(runs: NotifyRun[]): NotifyRun {
    const middle = median(runs.map(run => run.requestsPerSecond));
    return runs.reduce((best, run) =>
        Math.abs(run.requestsPerSecond - middle) < Math.abs(best.requestsPerSecond - middle) ? run : best
    );
}

export const notify: Measurement = {
    id: "notify",
    async run(ctx: BenchContext): Promise<Section> {
        const rounds = ctx.quick ? 1 : 5;
        const durationMs = ctx.quick ? 1_000 : 2_000;
        const warmUpMs = ctx.quick ? 300 : 700;
        const servers: Record<SideName, ChildHandle> = {
            ours: await startServerProcess({ logLevel: ctx.logLevel }),
            express: await startExpressProcess(),
            http: await startBaselineProcess()
        };
        const single: Record<SideName, NotifyRun[]> = { ours: [], express: [], http: [] };
        let batch: NotifyRun;
        try {
            for (let round = 0; round < rounds; round++) {
                const order = [...SIDES.slice(round % SIDES.length), ...SIDES.slice(0, round % SIDES.length)];
                for (const side of order) {
                    ctx.log(`notify: round ${round + 1}, ${side}, single`);
                    // Warm-up in every round: the servers idled while the others ran.
                    single[side].push(await measure(servers[side], side, "single", durationMs, warmUpMs));
                }
            }
            ctx.log("notify: companion server, batch");
            batch = await measure(servers.ours, "ours", "batch", durationMs, warmUpMs);
        } finally {
            await Promise.all(SIDES.map(side => servers[side].close()));
        }
        const chosen = Object.fromEntries(SIDES.map(side => [side, medianRun(single[side])])) as Record<
            SideName,
            NotifyRun
        >;
        // Paired per round (the servers of one round ran under the same load on the machine), then the median.
        const share = median(
            single.ours.map((run, round) => ratio(run.requestsPerSecond, single.express[round].requestsPerSecond))
        );
        const targets: Target[] = [
            {
                what: "`/notify` requests/s (16 in flight) vs a minimal Express 5 endpoint",
                goal: `>= ${percent(TARGET_SHARE_OF_EXPRESS)}`,
                value: `${percent(share)} (${count(chosen.ours.requestsPerSecond)} vs ${count(chosen.express.requestsPerSecond)}/s)`,
                met: share >= TARGET_SHARE_OF_EXPRESS
            }
        ];
        const rows = [...SIDES.map(side => chosen[side]), batch];
        const failures = [...SIDES.flatMap(side => single[side]), batch].filter(run => run.failed > 0);
        return {
            id: "notify",
            title: "3. Notify API throughput",
            method:
                `Closed-loop load on keep-alive connections: \`POST /rest/pusher/notify\` with ${SINGLE_IN_FLIGHT} requests ` +
                `in flight for ${durationMs / 1000} s per round after ${warmUpMs / 1000} s of warm-up, ${rounds} round(s) ` +
                `rotating the order of three servers given the same body (1,000 different topics). The table shows ` +
                `each server's median round; the target is the median over rounds of the companion server's share of ` +
                `the Express endpoint in the same round. The companion server (Bearer key, log level ${ctx.logLevel}) publishes in-process to ` +
                `its embedded broker. Floors: a minimal Express 5 endpoint (\`express.json()\` + \`res.json()\`, no ` +
                `checks) and a bare \`node:http\` server that does the route's work without checks (parse the JSON, ` +
                `build the payload and the Pusher frame, write it to the channel's sockets, answer). Then ` +
                `\`/notify/batch\` with ${BATCH_SIZE} notifications per call and ${BATCH_IN_FLIGHT} in flight on the ` +
                `companion server. No subscribers (acceptance cost only). Server CPU is the child's user+system time.`,
            tables: [
                {
                    head: [
                        "server",
                        "endpoint",
                        "in flight",
                        "requests/s",
                        "notifications/s",
                        "of Express",
                        "of node:http",
                        "request p50 ms",
                        "request p99 ms",
                        "server CPU µs per notification"
                    ],
                    rows: rows.map(run => [
                        SIDE_LABEL[run.side],
                        run.endpoint === "single" ? "/rest/pusher/notify" : `/rest/pusher/notify/batch (${BATCH_SIZE})`,
                        String(run.concurrency),
                        count(run.requestsPerSecond),
                        count(run.notificationsPerSecond),
                        run.endpoint === "single"
                            ? percent(ratio(run.requestsPerSecond, chosen.express.requestsPerSecond))
                            : "-",
                        run.endpoint === "single"
                            ? percent(ratio(run.requestsPerSecond, chosen.http.requestsPerSecond))
                            : "-",
                        ms(run.requestLatencyP50),
                        ms(run.requestLatencyP99),
                        count(run.serverCpuMicrosPerNotification)
                    ])
                },
                {
                    head: ["round", ...SIDES.map(side => `${side} requests/s`), "ours of Express"],
                    rows: Array.from({ length: rounds }, (_x, round) => [
                        String(round + 1),
                        ...SIDES.map(side => count(single[side][round].requestsPerSecond)),
                        percent(ratio(single.ours[round].requestsPerSecond, single.express[round].requestsPerSecond))
                    ])
                }
            ],
            targets,
            notes: [
                `Batch over single, notifications per second: ${ratio(batch.notificationsPerSecond, chosen.ours.notificationsPerSecond).toFixed(1)}x.`,
                ...failures.map(run => `${run.side} ${run.endpoint}: ${run.failed} requests failed (not counted)`)
            ],
            raw: { single, batch, shareOfExpress: share }
        };
    }
};
