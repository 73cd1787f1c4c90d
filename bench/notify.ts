/**
 * 3. Notify API throughput: notifications per second accepted by `POST /rest/pusher/notify` (16 in
 * flight) and by `POST /rest/pusher/notify/batch` with 100 notifications per call (4 in flight), with
 * the embedded broker (in-process trigger) and, in the full run, the previous path (pusher SDK over
 * loopback HTTP, see lib/server-child.ts). Nobody is subscribed, so this is the cost of accepting and
 * triggering; delivery is measured by the fan-out benchmark.
 */
import { HttpClient, type LoadResult, runLoad } from "./lib/http";
import { BENCH_API_KEY, type ChildHandle, type ServerVariant, startServerProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section } from "./lib/report";
import { count, ms, ratio, summarize, times } from "./lib/stats";

const BATCH_SIZE = 100;
const BEARER = { Authorization: `Bearer ${BENCH_API_KEY}` };

export interface NotifyRun {
    variant: ServerVariant;
    endpoint: "single" | "batch";
    concurrency: number;
    requests: number;
    failed: number;
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
    variant: ServerVariant,
    endpoint: NotifyRun["endpoint"],
    concurrency: number,
    durationMs: number
): Promise<NotifyRun> {
    const http = new HttpClient(server.url, concurrency);
    try {
        const perCall = endpoint === "single" ? 1 : BATCH_SIZE;
        const task = async (call: number): Promise<boolean> => {
            const answer =
                endpoint === "single"
                    ? await http.postJson("/rest/pusher/notify", notification(call), BEARER)
                    : await http.postJson(
                          "/rest/pusher/notify/batch",
                          {
                              notifications: Array.from({ length: BATCH_SIZE }, (_x, item) =>
                                  notification(call * BATCH_SIZE + item)
                              )
                          },
                          BEARER
                      );
            return answer.status === 200;
        };
        // Warm-up, not recorded.
        await runLoad({ concurrency, durationMs: Math.min(1_000, durationMs / 3), maxRequests: 100_000, task });
        const before = await server.stats();
        const load: LoadResult = await runLoad({ concurrency, durationMs, maxRequests: 1_000_000, task });
        const after = await server.stats();
        const latencies = summarize(load.latencies);
        return {
            variant,
            endpoint,
            concurrency,
            requests: load.requests,
            failed: load.failed,
            notificationsPerSecond: load.perSecond * perCall,
            requestLatencyP50: latencies.p50,
            requestLatencyP99: latencies.p99,
            serverCpuMicrosPerNotification: (after.cpuMicros - before.cpuMicros) / Math.max(1, load.ok * perCall)
        };
    } finally {
        http.close();
    }
}

export const notify: Measurement = {
    id: "notify",
    async run(ctx: BenchContext): Promise<Section> {
        const durationMs = ctx.quick ? 1_000 : 5_000;
        const runs: NotifyRun[] = [];
        // The previous-path server is left out of the smoke run.
        const variants: ServerVariant[] = ctx.quick ? ["as-built"] : ["as-built", "sdk-loopback"];
        for (const variant of variants) {
            const server = await startServerProcess({ logLevel: ctx.logLevel, variant });
            try {
                for (const [endpoint, concurrency] of [
                    ["single", 16],
                    ["batch", 4]
                ] as const) {
                    ctx.log(`notify: ${variant}, ${endpoint}`);
                    runs.push(await measure(server, variant, endpoint, concurrency, durationMs));
                }
            } finally {
                await server.close();
            }
        }
        const find = (variant: ServerVariant, endpoint: NotifyRun["endpoint"]): NotifyRun | undefined =>
            runs.find(run => run.variant === variant && run.endpoint === endpoint);
        const single = find("as-built", "single")!;
        const batch = find("as-built", "batch")!;
        const overPrevious = (endpoint: NotifyRun["endpoint"], asBuilt: NotifyRun): number =>
            ratio(asBuilt.notificationsPerSecond, find("sdk-loopback", endpoint)?.notificationsPerSecond ?? NaN);
        const failures = runs.filter(run => run.failed > 0);
        return {
            id: "notify",
            title: "3. Notify API throughput",
            method:
                `Closed-loop load for ${durationMs / 1000} s after a warm-up: \`POST /rest/pusher/notify\` with 16 requests ` +
                `in flight, and \`POST /rest/pusher/notify/batch\` with ${BATCH_SIZE} notifications per call and 4 in ` +
                `flight, on 1,000 different topics. The server publishes in-process to its embedded broker. No ` +
                `subscribers (acceptance cost only). Server log level ${ctx.logLevel}. The "previous path" rows are ` +
                `the bench-only patch that triggers through the pusher SDK and the broker's HTTP API over loopback ` +
                `(see latency), measured in the same run.`,
            tables: [
                {
                    head: [
                        "server",
                        "endpoint",
                        "in flight",
                        "notifications/s",
                        "request p50 ms",
                        "request p99 ms",
                        "server CPU µs per notification"
                    ],
                    rows: runs.map(run => [
                        run.variant === "as-built" ? "as built" : "previous path: SDK over loopback HTTP",
                        run.endpoint === "single" ? "/rest/pusher/notify" : `/rest/pusher/notify/batch (${BATCH_SIZE})`,
                        String(run.concurrency),
                        count(run.notificationsPerSecond),
                        ms(run.requestLatencyP50),
                        ms(run.requestLatencyP99),
                        count(run.serverCpuMicrosPerNotification)
                    ])
                },
                {
                    head: ["ratio", "value"],
                    rows: [
                        [
                            "batch / single notifications per second (as built)",
                            times(ratio(batch.notificationsPerSecond, single.notificationsPerSecond))
                        ],
                        ["as built / previous path, single", times(overPrevious("single", single))],
                        ["as built / previous path, batch", times(overPrevious("batch", batch))]
                    ]
                }
            ],
            targets: [],
            notes: failures.map(run => `${run.variant} ${run.endpoint}: ${run.failed} requests failed (not counted)`),
            raw: { runs, batchOverSingle: ratio(batch.notificationsPerSecond, single.notificationsPerSecond) }
        };
    }
};
