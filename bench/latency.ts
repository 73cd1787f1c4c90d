/**
 * 1. End-to-end latency: `POST /rest/pusher/notify` (real HTTP, Bearer key) until the LAST of N
 * subscribers has the event, against a bare `ws` server broadcasting the same payload on an HTTP POST to N
 * bare `ws` clients. Both servers run in child processes, all clients in the driver process. Runs
 * alternate in blocks (the order rotates every block) to cancel drift.
 * The targets compare the server's own cost: its subscribers are raw `ws` sockets speaking Pusher
 * protocol 7, which parse each frame and its data exactly like the baseline's clients. Information
 * without a target (full run only): the same server with pusher-js subscribers (in production every
 * browser parses its own frames; here one driver process parses them all, so pusher-js's parsing
 * dominates), and "previous", a server child whose notify still triggers through the pusher SDK over
 * loopback HTTP, the embedded path before the in-process trigger (see lib/server-child.ts).
 */
import {
    openBaselineSockets,
    openPusherClients,
    openRawPusherSockets,
    type PusherPool,
    type RawPool
} from "./lib/clients";
import { HttpClient } from "./lib/http";
import { BENCH_API_KEY, type ChildHandle, startBaselineProcess, startServerProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section, Target } from "./lib/report";
import { median, ms, now, ratio, summarize, times, type Summary } from "./lib/stats";

export const TARGET_RATIO = 1.3;
const SAMPLE_TIMEOUT_MS = 5_000;
const ACTION = "changed";
const ENTITY = "Bench.Item";

/** Arrivals of the notification currently in flight. */
class Tracker {
    private seq = "";
    private t0 = 0;
    private expected = 0;
    private arrivals: number[] = [];
    private resolve: (() => void) | undefined;

    begin(seq: string, expected: number): Promise<void> {
        this.seq = seq;
        this.expected = expected;
        this.arrivals = [];
        return new Promise(resolve => {
            this.resolve = resolve;
        });
    }

    /** Right before the request is written. */
    start(): void {
        this.t0 = now();
    }

    arrive(seq: unknown): void {
        if (seq !== this.seq) {
            return;
        }
        this.arrivals.push(now() - this.t0);
        if (this.arrivals.length === this.expected) {
            this.resolve?.();
        }
    }

    result(): number[] {
        return this.arrivals;
    }
}

export interface SideResult {
    /** Notify sent -> last client has it (ms), one per notification. */
    last: Summary;
    /** Per notification, the median over clients; summarized over notifications. */
    perClientMedian: Summary;
    /** Notify sent -> HTTP answer (ms). */
    response: Summary;
    timeouts: number;
    errors: number;
}

export type SideName = "oursRaw" | "ours" | "previous" | "expressWs" | "baseline";
/** Table order. */
export const SIDES: SideName[] = ["oursRaw", "ours", "previous", "expressWs", "baseline"];
const SIDE_LABEL: Record<SideName, string> = {
    oursRaw: "ours: notify API + broker -> raw Pusher clients (target)",
    ours: "ours -> pusher-js clients (information)",
    previous: "previous path: SDK over loopback HTTP -> pusher-js (information)",
    expressWs: "minimal Express 5 + ws: express.json() /publish -> bare ws clients (information)",
    baseline: "bare ws -> bare ws clients"
};

export interface SizeResult {
    subscribers: number;
    samples: number;
    /** Every side that ran (`ours` with pusher-js and `previous` not with --quick). */
    sides: Partial<Record<SideName, SideResult>>;
    /** `<side>/baseline` ratios of the last-client p50 and p99. */
    ratios: Partial<Record<SideName, { p50: number; p99: number }>>;
}

interface Side {
    name: SideName;
    send(seq: string): Promise<boolean>;
}

interface Servers {
    ours: ChildHandle;
    baseline: ChildHandle;
    /** The bare server with its HTTP side in a minimal Express 5 app. */
    expressWs: ChildHandle;
    previous?: ChildHandle;
}

interface Collected {
    last: number[];
    perClient: number[];
    response: number[];
    timeouts: number;
    errors: number;
}

async function sample(side: Side, tracker: Tracker, seq: string, subscribers: number, into: Collected | undefined) {
    const arrived = tracker.begin(seq, subscribers);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">(resolve => {
        timer = setTimeout(() => resolve("timeout"), SAMPLE_TIMEOUT_MS);
    });
    tracker.start();
    const t0 = now();
    let answeredAt = NaN;
    const answered = side.send(seq).then(
        ok => {
            answeredAt = now();
            return ok;
        },
        () => false
    );
    const outcome = await Promise.race([arrived.then(() => "ok" as const), timeout]);
    const ok = await Promise.race([answered, timeout.then(() => false)]);
    clearTimeout(timer);
    if (into === undefined) {
        return;
    }
    if (outcome === "timeout") {
        into.timeouts++;
        return;
    }
    if (!ok) {
        into.errors++;
        return;
    }
    const arrivals = tracker.result();
    into.last.push(Math.max(...arrivals));
    into.perClient.push(median(arrivals));
    into.response.push(answeredAt - t0);
}

function sideResult(collected: Collected): SideResult {
    return {
        last: summarize(collected.last),
        perClientMedian: summarize(collected.perClient),
        response: summarize(collected.response),
        timeouts: collected.timeouts,
        errors: collected.errors
    };
}

function payloadFor(subscribers: number, seq: string): string {
    return JSON.stringify({
        entity: ENTITY,
        guid: String(subscribers),
        changedDate: new Date().toISOString(),
        sender: "bench",
        data: seq
    });
}

/** Parses a Pusher-shaped frame and its data like pusher-js would, and reports the arrival. */
function frameHandler(tracker: Tracker): (index: number, text: string) => void {
    return (_index, text) => {
        const frame = JSON.parse(text) as { event: string; data: string };
        if (frame.event === ACTION) {
            tracker.arrive((JSON.parse(frame.data) as { data?: string }).data);
        }
    };
}

/**
 * A notify side: N subscribers of `private-Bench.Item.<guid>` on `server` (pusher-js clients, or raw
 * `ws` sockets speaking Pusher protocol 7), notifications through its `/rest/pusher/notify`.
 */
async function notifySide(
    name: SideName,
    server: ChildHandle,
    clients: "pusher-js" | "raw",
    subscribers: number,
    guid: string,
    tracker: Tracker,
    cleanup: Array<() => void>
): Promise<Side> {
    const channel = `private-${ENTITY}.${guid}`;
    const setupHttp = new HttpClient(server.url, 32);
    const notifyHttp = new HttpClient(server.url, 1);
    cleanup.push(
        () => setupHttp.close(),
        () => notifyHttp.close()
    );
    if (clients === "pusher-js") {
        const pool: PusherPool = await openPusherClients({
            http: setupHttp,
            apiKey: BENCH_API_KEY,
            count: subscribers,
            channelOf: () => channel
        });
        cleanup.push(() => pool.close());
        for (const subscribed of pool.channels) {
            subscribed.bind(ACTION, (payload: { data?: string }) => tracker.arrive(payload.data));
        }
    } else {
        const pool: RawPool = await openRawPusherSockets({
            http: setupHttp,
            apiKey: BENCH_API_KEY,
            count: subscribers,
            channelsOf: () => [channel]
        });
        cleanup.push(() => pool.close());
        pool.onFrame(frameHandler(tracker));
    }
    const bearer = { Authorization: `Bearer ${BENCH_API_KEY}` };
    return {
        name,
        send: async seq => {
            const answer = await notifyHttp.postJson(
                "/rest/pusher/notify",
                { entity: ENTITY, guid, action: ACTION, sender: "bench", data: seq },
                bearer
            );
            return answer.status === 200;
        }
    };
}

/** A baseline side: bare ws clients, the same payload through the bare server's `/publish`. */
async function baselineSide(
    name: "baseline" | "expressWs",
    baseline: ChildHandle,
    subscribers: number,
    channel: string,
    tracker: Tracker,
    cleanup: Array<() => void>
): Promise<Side> {
    const http = new HttpClient(baseline.url, 1);
    cleanup.push(() => http.close());
    const pool: RawPool = await openBaselineSockets({
        url: baseline.url,
        count: subscribers,
        channelsOf: () => [channel]
    });
    cleanup.push(() => pool.close());
    pool.onFrame(frameHandler(tracker));
    return {
        name,
        send: async seq => {
            const answer = await http.postJson("/publish", {
                channel,
                event: ACTION,
                data: payloadFor(subscribers, seq)
            });
            return answer.status === 200;
        }
    };
}

async function measureSize(
    ctx: BenchContext,
    servers: Servers,
    subscribers: number,
    blocks: number,
    perBlock: number
): Promise<SizeResult> {
    const guid = String(subscribers);
    const tracker = new Tracker();
    const cleanup: Array<() => void> = [];
    try {
        ctx.log(`latency: opening ${subscribers} subscriber(s) per side`);
        const sides: Side[] = [await notifySide("oursRaw", servers.ours, "raw", subscribers, guid, tracker, cleanup)];
        if (servers.previous !== undefined) {
            // Same server as "oursRaw", another channel.
            sides.push(
                await notifySide(
                    "ours",
                    servers.ours,
                    "pusher-js",
                    subscribers,
                    String(100_000 + subscribers),
                    tracker,
                    cleanup
                ),
                await notifySide("previous", servers.previous, "pusher-js", subscribers, guid, tracker, cleanup)
            );
        }
        const channel = `private-${ENTITY}.${guid}`;
        sides.push(
            await baselineSide("expressWs", servers.expressWs, subscribers, channel, tracker, cleanup),
            await baselineSide("baseline", servers.baseline, subscribers, channel, tracker, cleanup)
        );
        const collected = new Map<SideName, Collected>(
            sides.map(side => [side.name, { last: [], perClient: [], response: [], timeouts: 0, errors: 0 }])
        );
        let seq = 0;
        // Block 0 warms every path up and is not recorded; the order rotates every block.
        for (let block = 0; block <= blocks; block++) {
            const shift = block % sides.length;
            const order = [...sides.slice(shift), ...sides.slice(0, shift)];
            for (const side of block % 2 === 0 ? order : order.reverse()) {
                for (let i = 0; i < perBlock; i++) {
                    const into = block === 0 ? undefined : collected.get(side.name);
                    await sample(side, tracker, `${side.name}-${seq++}`, subscribers, into);
                }
            }
        }
        const results: SizeResult["sides"] = {};
        for (const [name, values] of collected) {
            results[name] = sideResult(values);
        }
        const ratios: SizeResult["ratios"] = {};
        for (const name of collected.keys()) {
            ratios[name] = {
                p50: ratio(results[name]!.last.p50, results.baseline!.last.p50),
                p99: ratio(results[name]!.last.p99, results.baseline!.last.p99)
            };
        }
        return { subscribers, samples: blocks * perBlock, sides: results, ratios };
    } finally {
        cleanup.reverse().forEach(close => close());
        // Let the servers see the closes before the next size.
        await new Promise(resolve => setTimeout(resolve, 300));
    }
}

export const latency: Measurement = {
    id: "latency",
    async run(ctx: BenchContext): Promise<Section> {
        // Recorded blocks per number of subscribers (plus one warm-up block each).
        const plan: Array<[subscribers: number, blocks: number]> = ctx.quick
            ? [
                  [1, 3],
                  [100, 3],
                  [1000, 1]
              ]
            : [
                  [1, 20],
                  [100, 20],
                  [1000, 12]
              ];
        const perBlock = ctx.quick ? 10 : 25;
        // The information sides (pusher-js clients, previous path) are left out of the smoke run.
        const servers: Servers = {
            ours: await startServerProcess({ logLevel: ctx.logLevel }),
            baseline: await startBaselineProcess(),
            expressWs: await startBaselineProcess({ env: { BASELINE_HTTP: "express" } }),
            previous: ctx.quick
                ? undefined
                : await startServerProcess({ logLevel: ctx.logLevel, variant: "sdk-loopback" })
        };
        const results: SizeResult[] = [];
        try {
            for (const [subscribers, blocks] of plan) {
                results.push(await measureSize(ctx, servers, subscribers, blocks, perBlock));
            }
        } finally {
            await Promise.all([
                servers.ours.close(),
                servers.baseline.close(),
                servers.expressWs.close(),
                servers.previous?.close()
            ]);
        }
        const active = SIDES.filter(side => results[0]?.sides[side] !== undefined);
        const targets: Target[] = results.flatMap(result => {
            const ours = result.sides.oursRaw!;
            const baseline = result.sides.baseline!;
            const ratios = result.ratios.oursRaw!;
            return [
                {
                    what: `notify-to-delivery p50, ${result.subscribers} subscriber(s)`,
                    goal: `<= ${TARGET_RATIO}x bare ws`,
                    value: `${times(ratios.p50)} (${ms(ours.last.p50)} vs ${ms(baseline.last.p50)} ms)`,
                    met: ratios.p50 <= TARGET_RATIO
                },
                {
                    what: `notify-to-delivery p99, ${result.subscribers} subscriber(s)`,
                    goal: `<= ${TARGET_RATIO}x bare ws`,
                    value: `${times(ratios.p99)} (${ms(ours.last.p99)} vs ${ms(baseline.last.p99)} ms)`,
                    met: ratios.p99 <= TARGET_RATIO
                }
            ];
        });
        const failures = results.flatMap(result =>
            active.flatMap(side => {
                const outcome = result.sides[side];
                return outcome !== undefined && outcome.timeouts + outcome.errors > 0
                    ? [
                          `${side}, ${result.subscribers} subscribers: ${outcome.timeouts} timeouts, ` +
                              `${outcome.errors} failed requests (left out of the figures)`
                      ]
                    : [];
            })
        );
        return {
            id: "latency",
            title: "1. Notify-to-delivery latency",
            method:
                `Time from writing \`POST /rest/pusher/notify\` (keep-alive HTTP, Bearer key) until the LAST of N ` +
                `subscribers of the channel has the event (fan-out complete), one notification at a time. The target ` +
                `side's subscribers are raw \`ws\` sockets speaking Pusher protocol 7 (subscribed with a signature ` +
                `from \`/rest/pusher/auth\`), which parse each frame and its data like pusher-js does: the same client ` +
                `work as the baseline's, so the ratio is the server's own cost. Baseline: a bare \`ws\` server on a ` +
                `bare \`http\` server that broadcasts the same Pusher-shaped frame on \`POST /publish\` to N bare ` +
                `\`ws\` clients. Each server runs in its own child process; all clients and the HTTP sender share the ` +
                `driver process, for every side alike. ${plan.map(([, blocks]) => blocks).join("/")} blocks (for ` +
                `${plan.map(([subscribers]) => subscribers).join("/")} subscribers) of ${perBlock} notifications per ` +
                `side, the order of the sides rotating every block, after one warm-up block; server log level ` +
                `${ctx.logLevel}. Milliseconds; ratios are side / bare ws. Information, no target (full run only): ` +
                `the same server with pusher-js subscribers (in production every browser parses its own frames; ` +
                `here one driver process parses them all, so pusher-js's parsing dominates at 100 and 1,000), and ` +
                `"previous path: SDK over loopback HTTP", the server with notify triggering through the pusher SDK ` +
                `and a private loopback listener of the broker's HTTP events API, as the embedded mode did before it ` +
                `published in-process (a bench-only patch, bench/lib/server-child.ts). Information, every run: ` +
                `"minimal Express 5 + ws", the bare server with its \`/publish\` route in a minimal Express 5 app ` +
                `(\`express.json()\` + \`res.json()\`, bench/lib/baseline-child.ts with BASELINE_HTTP=express): how ` +
                `much of the 1.3x budget Express alone takes.`,
            tables: [
                {
                    head: [
                        "subscribers",
                        "side",
                        "last p50",
                        "last p95",
                        "last p99",
                        "last max",
                        "per-client median p50",
                        "HTTP answer p50",
                        "p50 / bare ws",
                        "p99 / bare ws"
                    ],
                    rows: results.flatMap(result =>
                        active.map(side => {
                            const outcome = result.sides[side]!;
                            const ratios = result.ratios[side]!;
                            return [
                                String(result.subscribers),
                                SIDE_LABEL[side],
                                ms(outcome.last.p50),
                                ms(outcome.last.p95),
                                ms(outcome.last.p99),
                                ms(outcome.last.max),
                                ms(outcome.perClientMedian.p50),
                                ms(outcome.response.p50),
                                times(ratios.p50),
                                times(ratios.p99)
                            ];
                        })
                    )
                }
            ],
            targets,
            notes: [
                `Samples per side: ${results.map(r => `${r.samples} (${r.subscribers})`).join(", ")}.`,
                `Express alone, p50 of minimal Express 5 + ws over bare ws: ` +
                    results.map(r => `${times(r.ratios.expressWs!.p50)} (${r.subscribers})`).join(", ") +
                    `; the target side over minimal Express 5 + ws: ` +
                    results
                        .map(
                            r =>
                                `${times(ratio(r.sides.oursRaw!.last.p50, r.sides.expressWs!.last.p50))} (${r.subscribers})`
                        )
                        .join(", ") +
                    ".",
                ...failures
            ],
            raw: results
        };
    }
};
