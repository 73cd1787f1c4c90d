/**
 * 2. Fan-out throughput: messages delivered per second to 1,000 sockets, all on 1 channel (each
 * notification reaches 1,000 sockets) and spread over 1,000 channels (each notification reaches one
 * socket; sent 100 per call). Ours: `/rest/pusher/notify` and `/notify/batch` through the embedded
 * broker; baseline: the bare `ws` server's `/publish` and `/batch`. Subscribers are raw `ws` sockets
 * in both cases (ours speak Pusher protocol 7), so the client side costs the same and the server side
 * is what differs. Closed loop: at most `window` undelivered messages and 16 requests in flight.
 */
import { openBaselineSockets, openRawPusherSockets, type RawPool } from "./lib/clients";
import { type HttpAnswer, HttpClient } from "./lib/http";
import { BENCH_API_KEY, type ChildHandle, startBaselineProcess, startServerProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section, Target } from "./lib/report";
import { count, median, now, percent, ratio } from "./lib/stats";

export const TARGET_SHARE = 0.8;
const SOCKETS = 1000;
const ENTITY = "Bench.Fan";
const ACTION = "changed";
const IN_FLIGHT = 16;
const RUN_TIMEOUT_MS = 30_000;

interface Scenario {
    id: "one-channel" | "many-channels";
    label: string;
    /** Channel guid of socket i. */
    guidOf(index: number): string;
    /** Notifications per HTTP call and messages each notification delivers. */
    perCall: number;
    fanout: number;
    calls: number;
    /** Max undelivered messages. */
    window: number;
}

export interface RunResult {
    delivered: number;
    expected: number;
    elapsedMs: number;
    perSecond: number;
    /** Server process CPU time per delivered message (µs). */
    serverCpuMicrosPerMessage: number;
    /** Driver (client) process CPU time per delivered message (µs). */
    driverCpuMicrosPerMessage: number;
}

export type SideName = "ours" | "previous" | "baseline";
export const SIDES: SideName[] = ["ours", "previous", "baseline"];

export interface ScenarioResult {
    scenario: Scenario["id"];
    /** No `previous` runs with --quick. */
    runs: Record<SideName, RunResult[]>;
    perSecond: Record<SideName, number>;
    /** ours / baseline messages per second. */
    share: number;
    /** previous (SDK over loopback HTTP) / baseline. */
    previousShare: number;
}

/** Counts delivered messages and lets senders wait while too many are outstanding. */
class Flow {
    delivered = 0;
    lastAt = 0;
    private waiters: Array<{ target: number; wake: () => void }> = [];
    /** Smallest target among the waiters (Infinity when none wait). */
    private next = Infinity;

    reset(): void {
        this.delivered = 0;
        this.lastAt = 0;
    }

    arrive(): void {
        this.delivered++;
        this.lastAt = now();
        if (this.delivered >= this.next) {
            const ready = this.waiters.filter(waiter => waiter.target <= this.delivered);
            this.waiters = this.waiters.filter(waiter => waiter.target > this.delivered);
            this.next = Math.min(Infinity, ...this.waiters.map(waiter => waiter.target));
            ready.forEach(waiter => waiter.wake());
        }
    }

    /** Resolves once at least `target` messages were delivered, or after `timeoutMs`. */
    until(target: number, timeoutMs: number): Promise<void> {
        if (this.delivered >= target) {
            return Promise.resolve();
        }
        return new Promise(resolve => {
            const waiter = {
                target,
                wake: () => {
                    clearTimeout(timer);
                    resolve();
                }
            };
            const timer = setTimeout(
                () => {
                    this.waiters = this.waiters.filter(other => other !== waiter);
                    this.next = Math.min(Infinity, ...this.waiters.map(other => other.target));
                    resolve();
                },
                Math.max(0, timeoutMs)
            );
            this.waiters.push(waiter);
            this.next = Math.min(this.next, target);
        });
    }
}

function counting(flow: Flow): (index: number, text: string) => void {
    return (_index, text) => {
        const frame = JSON.parse(text) as { event: string; data: string };
        if (frame.event === ACTION) {
            JSON.parse(frame.data);
            flow.arrive();
        }
    };
}

async function drive(
    scenario: Scenario,
    flow: Flow,
    server: ChildHandle,
    send: (call: number) => Promise<boolean>
): Promise<RunResult> {
    flow.reset();
    const expected = scenario.calls * scenario.perCall * scenario.fanout;
    const perCall = scenario.perCall * scenario.fanout;
    const before = await server.stats();
    const driverBefore = process.cpuUsage();
    const started = now();
    const deadline = started + RUN_TIMEOUT_MS;
    let issued = 0;
    let failed = 0;
    let firstError = "";
    const worker = async (): Promise<void> => {
        while (issued < scenario.calls && now() < deadline) {
            const call = issued++;
            // Closed loop: wait until this call's messages fit into the window.
            await flow.until((call + 1) * perCall - scenario.window, deadline - now());
            const ok = await send(call).catch((error: unknown) => {
                firstError ||= error instanceof Error ? error.message : String(error);
                return false;
            });
            if (!ok) {
                failed++;
            }
        }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await flow.until(expected, Math.max(1_000, deadline - now()));
    const elapsedMs = (flow.lastAt || now()) - started;
    const driverCpu = process.cpuUsage(driverBefore);
    const after = await server.stats();
    if (failed > 0) {
        throw new Error(`${failed} ${scenario.id} calls failed; first: ${firstError}`);
    }
    return {
        delivered: flow.delivered,
        expected,
        elapsedMs,
        perSecond: (flow.delivered / elapsedMs) * 1000,
        serverCpuMicrosPerMessage: (after.cpuMicros - before.cpuMicros) / Math.max(1, flow.delivered),
        driverCpuMicrosPerMessage: (driverCpu.user + driverCpu.system) / Math.max(1, flow.delivered)
    };
}

function notification(scenario: Scenario, call: number, item: number) {
    const guid = scenario.guidOf((call * scenario.perCall + item) % SOCKETS);
    return { entity: ENTITY, guid, action: ACTION, sender: "bench", data: String(call) };
}

function baselineEvent(scenario: Scenario, call: number, item: number) {
    const { entity, guid, sender, data } = notification(scenario, call, item);
    return {
        channel: `private-${entity}.${guid}`,
        event: ACTION,
        data: JSON.stringify({ entity, guid, changedDate: new Date().toISOString(), sender, data })
    };
}

/** True for a 200 answer; throws with the status and body otherwise. */
function expectOk(answer: HttpAnswer): true {
    if (answer.status !== 200) {
        throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
    }
    return true;
}

interface Servers {
    ours: ChildHandle;
    baseline: ChildHandle;
    previous?: ChildHandle;
}

interface Side {
    name: SideName;
    child: ChildHandle;
    send(scenario: Scenario, call: number): Promise<boolean>;
}

/** A notify side: `/notify` for one notification per call, `/notify/batch` for more. */
function notifySide(name: SideName, child: ChildHandle, cleanup: Array<() => void>): Side {
    const http = new HttpClient(child.url, IN_FLIGHT);
    cleanup.push(() => http.close());
    const bearer = { Authorization: `Bearer ${BENCH_API_KEY}` };
    return {
        name,
        child,
        send: async (scenario, call) => {
            const answer =
                scenario.perCall === 1
                    ? await http.postJson("/rest/pusher/notify", notification(scenario, call, 0), bearer)
                    : await http.postJson(
                          "/rest/pusher/notify/batch",
                          {
                              notifications: Array.from({ length: scenario.perCall }, (_x, item) =>
                                  notification(scenario, call, item)
                              )
                          },
                          bearer
                      );
            return expectOk(answer);
        }
    };
}

function baselineSide(child: ChildHandle, cleanup: Array<() => void>): Side {
    const http = new HttpClient(child.url, IN_FLIGHT);
    cleanup.push(() => http.close());
    return {
        name: "baseline",
        child,
        send: async (scenario, call) => {
            const answer =
                scenario.perCall === 1
                    ? await http.postJson("/publish", baselineEvent(scenario, call, 0))
                    : await http.postJson("/batch", {
                          events: Array.from({ length: scenario.perCall }, (_x, item) =>
                              baselineEvent(scenario, call, item)
                          )
                      });
            return expectOk(answer);
        }
    };
}

/** Every socket is on the shared channel (guid "1") and on its own channel (guid 1000 + i). */
const channelsOf = (index: number): string[] => [`private-${ENTITY}.1`, `private-${ENTITY}.${1000 + index}`];

async function openSockets(ctx: BenchContext, servers: Servers, flow: Flow, cleanup: Array<() => void>): Promise<void> {
    for (const name of ["ours", "previous"] as const) {
        const server = servers[name];
        if (server === undefined) {
            continue;
        }
        ctx.log(`fanout: opening ${SOCKETS} Pusher-protocol sockets on the ${name} server`);
        const setupHttp = new HttpClient(server.url, 32);
        try {
            const pool: RawPool = await openRawPusherSockets({
                http: setupHttp,
                apiKey: BENCH_API_KEY,
                count: SOCKETS,
                channelsOf
            });
            cleanup.push(() => pool.close());
            pool.onFrame(counting(flow));
        } finally {
            setupHttp.close();
        }
    }
    ctx.log(`fanout: opening ${SOCKETS} bare ws sockets`);
    const bare = await openBaselineSockets({ url: servers.baseline.url, count: SOCKETS, channelsOf });
    cleanup.push(() => bare.close());
    bare.onFrame(counting(flow));
}

export const fanout: Measurement = {
    id: "fanout",
    async run(ctx: BenchContext): Promise<Section> {
        const rounds = ctx.quick ? 1 : 3;
        const scenarios: Scenario[] = [
            {
                id: "one-channel",
                label: "1,000 sockets on 1 channel",
                guidOf: () => "1",
                perCall: 1,
                fanout: SOCKETS,
                calls: ctx.quick ? 20 : 100,
                window: 20 * SOCKETS
            },
            {
                id: "many-channels",
                label: "1,000 sockets on 1,000 channels (100 per call)",
                guidOf: index => String(1000 + index),
                perCall: 100,
                fanout: 1,
                calls: ctx.quick ? 20 : 200,
                window: 2_000
            }
        ];
        // The previous-path side is left out of the smoke run.
        const servers: Servers = {
            ours: await startServerProcess({ logLevel: ctx.logLevel }),
            baseline: await startBaselineProcess(),
            previous: ctx.quick
                ? undefined
                : await startServerProcess({ logLevel: ctx.logLevel, variant: "sdk-loopback" })
        };
        const active = SIDES.filter(side => servers[side] !== undefined);
        const cleanup: Array<() => void> = [];
        const flow = new Flow();
        const results: ScenarioResult[] = [];
        try {
            await openSockets(ctx, servers, flow, cleanup);
            const sides: Side[] = [notifySide("ours", servers.ours, cleanup)];
            if (servers.previous !== undefined) {
                sides.push(notifySide("previous", servers.previous, cleanup));
            }
            sides.push(baselineSide(servers.baseline, cleanup));
            for (const scenario of scenarios) {
                ctx.log(`fanout: ${scenario.label}`);
                const runs: Record<SideName, RunResult[]> = { ours: [], previous: [], baseline: [] };
                // Warm-up: a tenth of a round per side, not recorded.
                const warm = { ...scenario, calls: Math.max(2, Math.ceil(scenario.calls / 10)) };
                for (const side of sides) {
                    await drive(warm, flow, side.child, call => side.send(warm, call));
                }
                for (let round = 0; round < rounds; round++) {
                    const shift = round % sides.length;
                    const order = [...sides.slice(shift), ...sides.slice(0, shift)];
                    for (const side of order) {
                        runs[side.name].push(
                            await drive(scenario, flow, side.child, call => side.send(scenario, call))
                        );
                    }
                }
                const perSecond = {
                    ours: median(runs.ours.map(run => run.perSecond)),
                    previous: runs.previous.length > 0 ? median(runs.previous.map(run => run.perSecond)) : NaN,
                    baseline: median(runs.baseline.map(run => run.perSecond))
                };
                results.push({
                    scenario: scenario.id,
                    runs,
                    perSecond,
                    share: ratio(perSecond.ours, perSecond.baseline),
                    previousShare: ratio(perSecond.previous, perSecond.baseline)
                });
            }
        } finally {
            cleanup.reverse().forEach(close => close());
            await Promise.all(active.map(side => servers[side]?.close()));
        }
        const cpu = (runs: RunResult[], field: "serverCpuMicrosPerMessage" | "driverCpuMicrosPerMessage") =>
            median(runs.map(run => run[field]));
        const labelOf = (id: Scenario["id"]) => scenarios.find(scenario => scenario.id === id)!.label;
        const sideLabel: Record<SideName, string> = {
            ours: "notify API + broker (as built)",
            previous: "previous path: SDK over loopback HTTP",
            baseline: "bare ws"
        };
        const targets: Target[] = results.map(result => ({
            what: `fan-out throughput, ${labelOf(result.scenario)}`,
            goal: `>= ${percent(TARGET_SHARE)} of bare ws`,
            value: `${percent(result.share)} (${count(result.perSecond.ours)} vs ${count(result.perSecond.baseline)} msg/s)`,
            met: result.share >= TARGET_SHARE
        }));
        return {
            id: "fanout",
            title: "2. Fan-out throughput",
            method:
                `Messages delivered per second to ${SOCKETS} sockets, closed loop (at most ${IN_FLIGHT} requests in flight and ` +
                `a window of undelivered messages: 20 notifications on 1 channel, 2,000 messages on 1,000 channels). Every ` +
                `socket is subscribed to one shared channel and to its own channel. Ours: \`POST /rest/pusher/notify\` ` +
                `(1 channel) and \`/notify/batch\` with 100 notifications per call (1,000 channels) through the embedded ` +
                `broker. Baseline: the bare \`ws\` server's \`/publish\` and \`/batch\`. The subscribers are raw \`ws\` ` +
                `sockets in the driver process for every side (ours speak Pusher protocol 7 and subscribed with a ` +
                `signature from \`/rest/pusher/auth\`); every socket parses each frame and its data. Median of ${rounds} ` +
                `round(s), the order of the sides rotating, after a warm-up. Server CPU is the child process's ` +
                `user+system time per delivered message, client CPU the driver's. Server log level ${ctx.logLevel}.`,
            tables: [
                {
                    head: [
                        "scenario",
                        "side",
                        "msg/s",
                        "of bare ws",
                        "server CPU µs/msg",
                        "CPU-bound share",
                        "client CPU µs/msg"
                    ],
                    rows: results.flatMap(result =>
                        active.map(side => [
                            labelOf(result.scenario),
                            sideLabel[side],
                            count(result.perSecond[side]),
                            percent(ratio(result.perSecond[side], result.perSecond.baseline)),
                            cpu(result.runs[side], "serverCpuMicrosPerMessage").toFixed(1),
                            percent(
                                ratio(
                                    cpu(result.runs.baseline, "serverCpuMicrosPerMessage"),
                                    cpu(result.runs[side], "serverCpuMicrosPerMessage")
                                )
                            ),
                            cpu(result.runs[side], "driverCpuMicrosPerMessage").toFixed(1)
                        ])
                    )
                }
            ],
            targets,
            notes: [
                "CPU-bound share = bare ws server CPU per message / this side's: the share of the baseline's " +
                    "throughput this server reaches when its one core is the limit. The measured msg/s ratio also " +
                    "depends on the driver (client CPU per message x msg/s near one core limits every side alike) " +
                    "and on other load on the machine.",
                "The previous-path side is the bench-only patch described under latency; no target applies to it."
            ],
            raw: results
        };
    }
};
