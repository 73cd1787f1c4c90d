/**
 * 4. Connections and memory: RSS of the companion server child with 0, 1,000 and 5,000 idle
 * authenticated sockets (Pusher protocol 7 WebSockets, each subscribed to its own private channel
 * with a signature from `/rest/pusher/auth`), after forced GCs; bytes per socket. Reference: the bare `ws` server child with
 * the same numbers of plain sockets.
 */
import { openBaselineSockets, openRawPusherSockets, type RawPool } from "./lib/clients";
import { HttpClient } from "./lib/http";
import type { ProcessStats } from "./lib/ipc";
import { openFilesLimit } from "./lib/machine";
import { BENCH_API_KEY, type ChildHandle, startBaselineProcess, startServerProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section } from "./lib/report";
import { bytes, count } from "./lib/stats";

export const TARGET_RSS_BYTES = 300 * 1024 * 1024;
const STEPS = [0, 1000, 5000];
/** Quiet time before each reading (shorter in the smoke run). */
const SETTLE_MS = { quick: 300, full: 1_000 };

export interface MemoryStep {
    sockets: number;
    /** Sockets the server counted. */
    serverSockets: number;
    rss: number;
    heapUsed: number;
    external: number;
}

export interface MemoryResult {
    ours: MemoryStep[];
    baseline: MemoryStep[];
    oursBytesPerSocket: number;
    baselineBytesPerSocket: number;
    oursHeapPerSocket: number;
    openSeconds: number;
}

function step(sockets: number, stats: ProcessStats): MemoryStep {
    return {
        sockets,
        serverSockets: stats.sockets,
        rss: stats.rss,
        heapUsed: stats.heapUsed,
        external: stats.external
    };
}

async function settledStats(child: ChildHandle, settleMs: number): Promise<ProcessStats> {
    await new Promise(resolve => setTimeout(resolve, settleMs));
    return child.stats(true);
}

/** Opens sockets in steps and records the child's memory at each. */
async function climb(
    ctx: BenchContext,
    child: ChildHandle,
    open: (from: number, count: number) => Promise<{ close(): void }>
): Promise<{ steps: MemoryStep[]; openMs: number }> {
    const pools: Array<{ close(): void }> = [];
    const steps: MemoryStep[] = [];
    let openMs = 0;
    try {
        let opened = 0;
        for (const target of STEPS) {
            if (target > opened) {
                ctx.log(`memory ${child.name}: opening sockets ${opened + 1}..${target}`);
                const t0 = Date.now();
                pools.push(await open(opened, target - opened));
                openMs += Date.now() - t0;
                opened = target;
            }
            const stats = await settledStats(child, ctx.quick ? SETTLE_MS.quick : SETTLE_MS.full);
            if (stats.sockets !== target) {
                throw new Error(`${child.name} counts ${stats.sockets} sockets, expected ${target}`);
            }
            steps.push(step(target, stats));
        }
    } finally {
        pools.forEach(pool => pool.close());
    }
    return { steps, openMs };
}

function perSocket(steps: MemoryStep[], field: "rss" | "heapUsed"): number {
    if (steps.length < 2) {
        return NaN;
    }
    const first = steps[0];
    const last = steps[steps.length - 1];
    return (last[field] - first[field]) / Math.max(1, last.sockets - first.sockets);
}

export const memory: Measurement = {
    id: "memory",
    async run(ctx: BenchContext): Promise<Section> {
        const maxSockets = STEPS[STEPS.length - 1];
        const limit = openFilesLimit();
        if (limit < maxSockets + 500) {
            throw new Error(
                `ulimit -n is ${limit}; ${maxSockets + 500} open files are needed: run 'ulimit -n 20000' first`
            );
        }
        let ours: { steps: MemoryStep[]; openMs: number };
        const server = await startServerProcess({ logLevel: ctx.logLevel });
        const http = new HttpClient(server.url, 32);
        try {
            ours = await climb(ctx, server, async (from, howMany) => {
                const pool: RawPool = await openRawPusherSockets({
                    http,
                    apiKey: BENCH_API_KEY,
                    count: howMany,
                    channelsOf: index => [`private-Bench.Idle.${from + index}`],
                    concurrency: 100
                });
                return pool;
            });
        } finally {
            http.close();
            await server.close();
        }
        // The bare ws reference is left out of the smoke run.
        let baseline: { steps: MemoryStep[]; openMs: number } = { steps: [], openMs: 0 };
        const baselineChild = ctx.quick ? undefined : await startBaselineProcess();
        if (baselineChild !== undefined) {
            try {
                baseline = await climb(ctx, baselineChild, async (from, howMany) => {
                    const pool: RawPool = await openBaselineSockets({
                        url: baselineChild.url,
                        count: howMany,
                        channelsOf: index => [`private-Bench.Idle.${from + index}`],
                        concurrency: 100
                    });
                    return pool;
                });
            } finally {
                await baselineChild.close();
            }
        }
        const result: MemoryResult = {
            ours: ours.steps,
            baseline: baseline.steps,
            oursBytesPerSocket: perSocket(ours.steps, "rss"),
            baselineBytesPerSocket: perSocket(baseline.steps, "rss"),
            oursHeapPerSocket: perSocket(ours.steps, "heapUsed"),
            openSeconds: ours.openMs / 1000
        };
        const top = ours.steps[ours.steps.length - 1];
        return {
            id: "memory",
            title: "4. Connections and memory",
            method:
                `RSS of the server child process (plain \`node\`, no loader) after two forced GCs and ${ctx.quick ? SETTLE_MS.quick : SETTLE_MS.full} ms of ` +
                `quiet, with 0, 1,000 and 5,000 idle WebSockets connected (raw \`ws\` clients speaking Pusher protocol 7, ` +
                `so the driver stays light; the server side is the same as for pusher-js), each subscribed to its own ` +
                `private channel with a signature from \`POST /rest/pusher/auth\` (Bearer relay path). Reference: the bare \`ws\` ` +
                `server child with the same numbers of plain sockets. Open files limit of the children: the hard limit ` +
                `(${limit} for the driver).`,
            tables: [
                {
                    head: ["sockets", "ours RSS", "ours heap used", "bare ws RSS", "bare ws heap used"],
                    rows: STEPS.map((sockets, index) => [
                        count(sockets),
                        bytes(ours.steps[index].rss),
                        bytes(ours.steps[index].heapUsed),
                        bytes(baseline.steps[index]?.rss ?? NaN),
                        bytes(baseline.steps[index]?.heapUsed ?? NaN)
                    ])
                },
                {
                    head: ["per socket (0 -> 5,000)", "ours", "bare ws"],
                    rows: [
                        ["RSS", bytes(result.oursBytesPerSocket), bytes(result.baselineBytesPerSocket)],
                        ["heap used", bytes(result.oursHeapPerSocket), bytes(perSocket(baseline.steps, "heapUsed"))]
                    ]
                }
            ],
            targets: [
                {
                    what: "server RSS with 5,000 idle authenticated sockets",
                    goal: `< ${bytes(TARGET_RSS_BYTES)}`,
                    value: bytes(top.rss),
                    met: top.rss < TARGET_RSS_BYTES
                }
            ],
            notes: [
                `Opening 5,000 sockets (connect + auth + subscribe, 100 at a time) took ${result.openSeconds.toFixed(1)} s.`
            ],
            raw: result
        };
    }
};
