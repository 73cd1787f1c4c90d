/**
 * Scale-out (issue 15): the same raw Pusher-protocol clients on 1 instance without Redis, then on 2 instances sharing
 * a real `redis-server` (half of the clients on each), in one run.
 *
 * 1. Notify-to-delivery latency: `POST /rest/pusher/notify` on the first instance until the last client has the
 *    event; the extra p50/p99 Redis adds (the stamp's round trip, the bus hop to the other instance).
 * 2. Fan-out throughput: closed-loop notifies for a fixed time, on the single instance, then on both instances at
 *    once with the same concurrency each; each instance's notifies/s as a share of the single instance's.
 * 3. Redis away for 10 s (3 s with --quick) while the first instance notifies every 250 ms: what /readyz answered,
 *    what the local and the remote clients received during the outage and after, how long until both instances were
 *    ready again after Redis came back, and whether any client received a notification twice.
 */
import { openRawPusherSockets, type RawPool } from "./lib/clients";
import { HttpClient, runLoad } from "./lib/http";
import { BENCH_API_KEY, startServerProcess, type ChildHandle } from "./lib/processes";
import type { BenchContext, Measurement, Section } from "./lib/report";
import { ms, now, percent, summarize, type Summary } from "./lib/stats";
import { redisAvailable, startRedis, type RedisProcess } from "../test/setup/redis";

const TOPIC = "Bench.Scale.1";
const CHANNEL = `private-${TOPIC}`;
const SAMPLE_TIMEOUT_MS = 5_000;
const CREDENTIALS = {
    BROKER_APP_ID: "515151",
    BROKER_KEY: "bench-scale-key",
    BROKER_SECRET: "bench-scale-secret-0123456789abcdef"
};

interface Sizes {
    clients: number;
    samples: number;
    loadMs: number;
    concurrency: number;
    outageMs: number;
}

const SIZES: Record<"quick" | "full", Sizes> = {
    quick: { clients: 100, samples: 40, loadMs: 3_000, concurrency: 8, outageMs: 3_000 },
    full: { clients: 1_000, samples: 300, loadMs: 10_000, concurrency: 16, outageMs: 10_000 }
};

/** Which notification (its `data`) each client received, and when. */
class Deliveries {
    private readonly arrivals = new Map<string, Map<number, number>>();
    duplicates = 0;
    private waiting: { id: string; count: number; resolve: () => void } | undefined;

    attach(pool: RawPool, offset: number): void {
        pool.onFrame((index, text) => {
            if (!text.includes('"event":"refresh"')) {
                return;
            }
            const frame = JSON.parse(text) as { data: string };
            const id = (JSON.parse(frame.data) as { data?: string }).data ?? "";
            const byClient = this.arrivals.get(id) ?? new Map<number, number>();
            this.arrivals.set(id, byClient);
            if (byClient.has(offset + index)) {
                this.duplicates++;
                return;
            }
            byClient.set(offset + index, now());
            if (this.waiting?.id === id && byClient.size === this.waiting.count) {
                this.waiting.resolve();
            }
        });
    }

    received(id: string, clients?: (client: number) => boolean): number {
        const byClient = this.arrivals.get(id);
        return byClient === undefined ? 0 : [...byClient.keys()].filter(client => clients?.(client) ?? true).length;
    }

    lastArrival(id: string): number {
        return Math.max(...(this.arrivals.get(id)?.values() ?? [NaN]));
    }

    until(id: string, count: number): Promise<boolean> {
        if (this.received(id) >= count) {
            return Promise.resolve(true);
        }
        return new Promise(resolve => {
            const timer = setTimeout(() => resolve(false), SAMPLE_TIMEOUT_MS);
            this.waiting = {
                id,
                count,
                resolve: () => {
                    clearTimeout(timer);
                    resolve(true);
                }
            };
        });
    }
}

interface Setup {
    servers: ChildHandle[];
    http: HttpClient[];
    pools: RawPool[];
    deliveries: Deliveries;
}

async function setUp(ctx: BenchContext, count: number, env: Record<string, string>, clients: number): Promise<Setup> {
    const servers: ChildHandle[] = [];
    for (let i = 0; i < count; i++) {
        servers.push(await startServerProcess({ logLevel: ctx.logLevel, env }));
    }
    const http = servers.map(server => new HttpClient(server.url, 32));
    const deliveries = new Deliveries();
    const pools: RawPool[] = [];
    const each = Math.floor(clients / count);
    for (const [index, client] of http.entries()) {
        const pool = await openRawPusherSockets({
            http: client,
            apiKey: BENCH_API_KEY,
            count: each,
            channelsOf: () => [CHANNEL]
        });
        deliveries.attach(pool, index * each);
        pools.push(pool);
    }
    return { servers, http, pools, deliveries };
}

async function tearDown(setup: Setup): Promise<void> {
    for (const pool of setup.pools) {
        pool.close();
    }
    await Promise.all(setup.servers.map(server => server.close()));
}

const notifyBody = (id: string): string => JSON.stringify({ topic: TOPIC, action: "refresh", data: id });

async function notify(http: HttpClient, id: string): Promise<boolean> {
    const answer = await http.request("POST", "/rest/pusher/notify", notifyBody(id), {
        "Content-Type": "application/json",
        Authorization: `Bearer ${BENCH_API_KEY}`
    });
    return answer.status === 200;
}

/** Notify on the first instance -> last client has it, `samples` times in sequence. */
async function latencyOf(setup: Setup, clients: number, samples: number, label: string): Promise<Summary> {
    const last: number[] = [];
    for (let i = 0; i < samples; i++) {
        const id = `${label}-latency-${i}`;
        const arrived = setup.deliveries.until(id, clients);
        const t0 = now();
        await notify(setup.http[0], id);
        if (await arrived) {
            last.push(setup.deliveries.lastArrival(id) - t0);
        }
    }
    return summarize(last);
}

/** Closed-loop notifies on every instance at once; notifies/s answered by each. */
async function throughputOf(setup: Setup, sizes: Sizes, label: string): Promise<number[]> {
    const results = await Promise.all(
        setup.http.map((http, instance) =>
            runLoad({
                concurrency: sizes.concurrency,
                durationMs: sizes.loadMs,
                maxRequests: 1_000_000,
                task: index => notify(http, `${label}-load-${instance}-${index}`)
            })
        )
    );
    return results.map(result => result.perSecond);
}

async function readyz(http: HttpClient): Promise<number> {
    return (await http.request("GET", "/readyz").catch(() => ({ status: 0 }))).status;
}

interface OutageResult {
    outageMs: number;
    readyzDuring: Record<string, number>;
    sentDuring: number;
    localDuring: number;
    remoteDuring: number;
    remoteAfterRecovery: number;
    recoveryMs: number;
    remoteAfterRecoveryMs: number;
    duplicates: number;
}

/** Redis stopped for `outageMs` while the first instance notifies every 250 ms. */
async function outage(setup: Setup, redis: RedisProcess, sizes: Sizes, clients: number): Promise<OutageResult> {
    const each = Math.floor(clients / 2);
    const local = (client: number): boolean => client < each;
    const remote = (client: number): boolean => client >= each;
    const readyzDuring: Record<string, number> = {};
    const ids: string[] = [];
    await redis.stop();
    const stopped = now();
    let tick = 0;
    while (now() - stopped < sizes.outageMs) {
        const id = `outage-${tick++}`;
        ids.push(id);
        await notify(setup.http[0], id);
        for (const http of setup.http) {
            const status = String(await readyz(http));
            readyzDuring[status] = (readyzDuring[status] ?? 0) + 1;
        }
        await new Promise(resolve => setTimeout(resolve, 250));
    }
    const localDuring = ids.reduce((sum, id) => sum + setup.deliveries.received(id, local), 0);
    const remoteDuring = ids.reduce((sum, id) => sum + setup.deliveries.received(id, remote), 0);
    await redis.start();
    const restarted = now();
    let recoveryMs = NaN;
    while (now() - restarted < 30_000) {
        const statuses = await Promise.all(setup.http.map(readyz));
        if (statuses.every(status => status === 200)) {
            recoveryMs = now() - restarted;
            break;
        }
        await new Promise(resolve => setTimeout(resolve, 50));
    }
    let remoteAfterRecoveryMs = NaN;
    while (now() - restarted < 30_000) {
        if (ids.every(id => setup.deliveries.received(id, remote) === each)) {
            remoteAfterRecoveryMs = now() - restarted;
            break;
        }
        await new Promise(resolve => setTimeout(resolve, 50));
    }
    await new Promise(resolve => setTimeout(resolve, 500));
    return {
        outageMs: sizes.outageMs,
        readyzDuring,
        sentDuring: ids.length,
        localDuring,
        remoteDuring,
        remoteAfterRecovery: ids.reduce((sum, id) => sum + setup.deliveries.received(id, remote), 0),
        recoveryMs,
        remoteAfterRecoveryMs,
        duplicates: setup.deliveries.duplicates
    };
}

export const scale: Measurement = {
    id: "scale",
    async run(ctx: BenchContext): Promise<Section> {
        const sizes = ctx.quick ? SIZES.quick : SIZES.full;
        const clients = sizes.clients;
        if (!redisAvailable("bench scale")) {
            throw new Error("bench scale needs redis-server (apt-get install redis-server)");
        }
        const redis = await startRedis();
        try {
            ctx.log(`scale: 1 instance without Redis, ${clients} clients`);
            const single = await setUp(ctx, 1, CREDENTIALS, clients);
            let singleLatency: Summary;
            let singleRate: number[];
            try {
                singleLatency = await latencyOf(single, clients, sizes.samples, "single");
                singleRate = await throughputOf(single, sizes, "single");
            } finally {
                await tearDown(single);
            }
            ctx.log(`scale: 2 instances over Redis, ${clients} clients (half on each)`);
            const cluster = await setUp(ctx, 2, { ...CREDENTIALS, REDIS_URL: redis.url }, clients);
            let clusterLatency: Summary;
            let clusterRate: number[];
            let away: OutageResult;
            try {
                clusterLatency = await latencyOf(cluster, clients, sizes.samples, "cluster");
                clusterRate = await throughputOf(cluster, sizes, "cluster");
                ctx.log(`scale: Redis away for ${sizes.outageMs / 1000} s`);
                away = await outage(cluster, redis, sizes, clients);
            } finally {
                await tearDown(cluster);
            }
            const shares = clusterRate.map(rate => rate / singleRate[0]);
            const raw = { sizes, singleLatency, clusterLatency, singleRate, clusterRate, shares, outage: away };
            return {
                id: "scale",
                title: "Scale-out: 2 instances over Redis against 1 instance without Redis",
                method:
                    `${clients} raw Pusher-protocol clients on one channel: all on one instance without REDIS_URL, then half on ` +
                    `each of 2 instances sharing a real redis-server (one child process per instance, Redis on loopback). Latency: ` +
                    `${sizes.samples} notifies in sequence on the first instance until the last client has each. Throughput: ` +
                    `${sizes.concurrency} closed-loop notify workers per instance for ${sizes.loadMs / 1000} s (both instances ` +
                    `at once in the cluster), fanned out to every client. Outage: Redis stopped for ${sizes.outageMs / 1000} s ` +
                    `while the first instance notifies every 250 ms, then started again (empty).`,
                tables: [
                    {
                        head: ["notify -> last client", "p50", "p99", "max"],
                        rows: [
                            [
                                "1 instance, no Redis",
                                ms(singleLatency.p50),
                                ms(singleLatency.p99),
                                ms(singleLatency.max)
                            ],
                            [
                                "2 instances over Redis",
                                ms(clusterLatency.p50),
                                ms(clusterLatency.p99),
                                ms(clusterLatency.max)
                            ],
                            [
                                "extra with Redis",
                                ms(clusterLatency.p50 - singleLatency.p50),
                                ms(clusterLatency.p99 - singleLatency.p99),
                                ""
                            ]
                        ]
                    },
                    {
                        head: ["throughput", "notifies/s", "share of 1 instance"],
                        rows: [
                            ["1 instance, no Redis", singleRate[0].toFixed(0), "100 %"],
                            ...clusterRate.map((rate, index) => [
                                `instance ${index + 1} of 2 over Redis`,
                                rate.toFixed(0),
                                percent(shares[index])
                            ])
                        ]
                    },
                    {
                        head: [`Redis away ${away.outageMs / 1000} s`, "measured"],
                        rows: [
                            ["/readyz answers during the outage (status: count)", JSON.stringify(away.readyzDuring)],
                            [
                                "local clients' deliveries during the outage",
                                `${away.localDuring} of ${away.sentDuring * (clients / 2)}`
                            ],
                            [
                                "remote clients' deliveries during the outage",
                                `${away.remoteDuring} of ${away.sentDuring * (clients / 2)}`
                            ],
                            [
                                "remote clients' deliveries after recovery",
                                `${away.remoteAfterRecovery} of ${away.sentDuring * (clients / 2)}`
                            ],
                            ["Redis back -> both /readyz 200", ms(away.recoveryMs)],
                            [
                                "Redis back -> remote clients have every outage notification",
                                ms(away.remoteAfterRecoveryMs)
                            ],
                            ["duplicate deliveries (whole run)", String(away.duplicates)]
                        ]
                    }
                ],
                targets: [],
                notes: [
                    "The machine has 2 cores shared with other work; in the cluster run both instances, Redis and the clients share them, so the per-instance share measures what one instance keeps when it is not alone, not a ceiling.",
                    "While Redis is away each instance serves its own sockets at once; notifications for the other instance wait in its bounded outbox (10,000 messages) and are sent when Redis is back."
                ],
                raw
            };
        } finally {
            await redis.stop();
        }
    }
};
