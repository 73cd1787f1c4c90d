/**
 * 4. Connections and memory: RSS of the companion server child with 0 up to 20,000 idle authenticated sockets
 * (Pusher protocol 7 WebSockets, each subscribed to its own private channel with a signature from
 * `/rest/pusher/auth`), after forced GCs; bytes per socket. Reference: the bare `ws` server child with the same
 * numbers of plain sockets. The sockets are held by driver child processes (at most 5,000 each,
 * lib/subscribers-child.ts), so no process needs more open files than its limit allows. When the machine's hard
 * open-files limit keeps the server below 20,000 sockets (the broker keeps 10 % of its descriptors free for HTTP),
 * the largest step is the most it can hold and the 20,000 figure is projected from the per-socket slope.
 */
import { socketBudget } from "../server/broker/descriptors";
import type { ProcessStats } from "./lib/ipc";
import { hardOpenFilesLimit } from "./lib/machine";
import { type ChildHandle, startBaselineProcess, startServerProcess, startSubscribersProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section, Target } from "./lib/report";
import { bytes, count } from "./lib/stats";

export const TARGET_SOCKETS = 20_000;
export const TARGET_RSS_BYTES = 400 * 1024 * 1024;
/** Sockets one driver child holds at most. */
const PER_DRIVER = 5_000;
/** Longest wait for one step's sockets to be open. */
const OPEN_TIMEOUT_MS = 180_000;
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
    /** The most sockets the server child may hold on this machine (up to TARGET_SOCKETS). */
    top: number;
    ours: MemoryStep[];
    baseline: MemoryStep[];
    oursBytesPerSocket: number;
    baselineBytesPerSocket: number;
    oursHeapPerSocket: number;
    /** RSS with TARGET_SOCKETS: measured when `top` reached it, else projected from the slope. */
    oursAtTarget: number;
    projected: boolean;
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

/** Opens `howMany` more sockets through driver children and waits until every one is open. */
async function openThroughDrivers(
    server: ChildHandle,
    kind: "pusher" | "bare",
    from: number,
    howMany: number,
    drivers: ChildHandle[]
): Promise<void> {
    const started: ChildHandle[] = [];
    for (let offset = 0; offset < howMany; offset += PER_DRIVER) {
        const driver = await startSubscribersProcess({
            url: server.url,
            kind,
            from: from + offset,
            count: Math.min(PER_DRIVER, howMany - offset)
        });
        drivers.push(driver);
        started.push(driver);
    }
    const deadline = Date.now() + OPEN_TIMEOUT_MS;
    for (;;) {
        const open = (await Promise.all(started.map(driver => driver.stats()))).reduce((sum, s) => sum + s.sockets, 0);
        if (open >= howMany) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(`only ${open} of ${howMany} sockets opened within ${OPEN_TIMEOUT_MS} ms`);
        }
        await new Promise(resolve => setTimeout(resolve, 250));
    }
}

/** Opens sockets in steps and records the server child's memory at each. */
async function climb(
    ctx: BenchContext,
    server: ChildHandle,
    kind: "pusher" | "bare",
    steps: number[]
): Promise<{ steps: MemoryStep[]; openMs: number }> {
    const drivers: ChildHandle[] = [];
    const results: MemoryStep[] = [];
    let openMs = 0;
    try {
        let opened = 0;
        for (const target of steps) {
            if (target > opened) {
                ctx.log(`memory ${server.name}: opening sockets ${opened + 1}..${target}`);
                const t0 = Date.now();
                await openThroughDrivers(server, kind, opened, target - opened, drivers);
                openMs += Date.now() - t0;
                opened = target;
            }
            const stats = await settledStats(server, ctx.quick ? SETTLE_MS.quick : SETTLE_MS.full);
            if (stats.sockets !== target) {
                throw new Error(`${server.name} counts ${stats.sockets} sockets, expected ${target}`);
            }
            results.push(step(target, stats));
        }
    } finally {
        await Promise.all(drivers.map(driver => driver.close()));
    }
    return { steps: results, openMs };
}

/** RSS or heap per socket between two steps. */
function perSocket(from: MemoryStep | undefined, to: MemoryStep | undefined, field: "rss" | "heapUsed"): number {
    if (from === undefined || to === undefined || to.sockets === from.sockets) {
        return NaN;
    }
    return (to[field] - from[field]) / (to.sockets - from.sockets);
}

export const memory: Measurement = {
    id: "memory",
    async run(ctx: BenchContext): Promise<Section> {
        // Children raise their soft open-files limit to the hard one; the broker keeps 10 % of it free.
        const top = Math.min(TARGET_SOCKETS, socketBudget(hardOpenFilesLimit()) ?? TARGET_SOCKETS);
        const steps = ctx.quick ? [0, 1000, 5000] : [...new Set([0, 1000, 5000, 10_000, top])].sort((a, b) => a - b);
        const server = await startServerProcess({ logLevel: ctx.logLevel });
        let ours: { steps: MemoryStep[]; openMs: number };
        try {
            ours = await climb(ctx, server, "pusher", steps);
        } finally {
            await server.close();
        }
        // The bare ws reference is left out of the smoke run.
        let baseline: { steps: MemoryStep[]; openMs: number } = { steps: [], openMs: 0 };
        if (!ctx.quick) {
            const baselineChild = await startBaselineProcess();
            try {
                baseline = await climb(ctx, baselineChild, "bare", steps);
            } finally {
                await baselineChild.close();
            }
        }
        const last = ours.steps[ours.steps.length - 1];
        const slopeFrom = ours.steps.find(s => s.sockets === 5000) ?? ours.steps[0];
        const slope = perSocket(slopeFrom, last, "rss");
        const projected = last.sockets < TARGET_SOCKETS;
        const oursAtTarget = projected ? last.rss + (TARGET_SOCKETS - last.sockets) * slope : last.rss;
        const result: MemoryResult = {
            top: last.sockets,
            ours: ours.steps,
            baseline: baseline.steps,
            oursBytesPerSocket: perSocket(ours.steps[0], last, "rss"),
            baselineBytesPerSocket: perSocket(baseline.steps[0], baseline.steps[baseline.steps.length - 1], "rss"),
            oursHeapPerSocket: perSocket(ours.steps[0], last, "heapUsed"),
            oursAtTarget,
            projected,
            openSeconds: ours.openMs / 1000
        };
        const targets: Target[] = [
            {
                what: `server RSS with ${count(TARGET_SOCKETS)} idle subscribed sockets`,
                goal: `< ${bytes(TARGET_RSS_BYTES)}`,
                value: projected
                    ? `${bytes(oursAtTarget)} (projected from ${bytes(last.rss)} at ${count(last.sockets)})`
                    : bytes(oursAtTarget),
                met: oursAtTarget < TARGET_RSS_BYTES
            }
        ];
        return {
            id: "memory",
            title: "4. Connections and memory",
            method:
                `RSS of the server child process (plain \`node\`, no loader) after two forced GCs and ` +
                `${ctx.quick ? SETTLE_MS.quick : SETTLE_MS.full} ms of quiet, with ${steps.map(count).join(", ")} idle ` +
                `WebSockets connected (raw \`ws\` clients speaking Pusher protocol 7, so the drivers stay light; the ` +
                `server side is the same as for pusher-js), each subscribed to its own private channel with a ` +
                `signature from \`POST /rest/pusher/auth\` (Bearer relay path), all from 127.0.0.1 (the bench lifts ` +
                `the broker's per-address cap with BROKER_MAX_CONNECTIONS_PER_ADDRESS). The sockets are held by ` +
                `driver child processes of at most ${count(PER_DRIVER)} sockets each. Reference: the bare \`ws\` ` +
                `server child with the same numbers of plain sockets. Every child raises its open-files limit to ` +
                `the hard limit (${count(hardOpenFilesLimit())} here); the broker keeps 10 % of it free for HTTP, so ` +
                `the server holds at most ${count(top)} sockets on this machine` +
                (projected
                    ? `, and the ${count(TARGET_SOCKETS)}-socket figure is projected from the RSS per socket ` +
                      `between ${count(slopeFrom.sockets)} and ${count(last.sockets)} sockets.`
                    : "."),
            tables: [
                {
                    head: ["sockets", "ours RSS", "ours heap used", "bare ws RSS", "bare ws heap used"],
                    rows: steps.map((sockets, index) => [
                        count(sockets),
                        bytes(ours.steps[index].rss),
                        bytes(ours.steps[index].heapUsed),
                        bytes(baseline.steps[index]?.rss ?? NaN),
                        bytes(baseline.steps[index]?.heapUsed ?? NaN)
                    ])
                },
                {
                    head: [`per socket (0 -> ${count(last.sockets)})`, "ours", "bare ws"],
                    rows: [
                        ["RSS", bytes(result.oursBytesPerSocket), bytes(result.baselineBytesPerSocket)],
                        [
                            "heap used",
                            bytes(result.oursHeapPerSocket),
                            bytes(perSocket(baseline.steps[0], baseline.steps[baseline.steps.length - 1], "heapUsed"))
                        ]
                    ]
                }
            ],
            targets,
            notes: [
                `Opening ${count(last.sockets)} sockets (connect + auth + subscribe, 100 at a time per driver) took ` +
                    `${result.openSeconds.toFixed(1)} s.`
            ],
            raw: result
        };
    }
};
