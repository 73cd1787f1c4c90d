/**
 * 8. Reconnect storm: 5,000 subscribed clients (raw Pusher protocol sockets that reconnect and authorize like the
 * widget, bench/lib/storm-clients.ts) and a server restart. Every client's authorization is a Mendix access check
 * (the fake Mendix app in its own child process, 20 ms per check). Measured: how long after the restarted server
 * listens each client is subscribed again and caught up (its authorization answered with the catch-up of its
 * cursor), the most access checks the Mendix app saw at once, and the memory of the catch-up state per channel.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";
import { fetchClientConfig } from "./lib/clients";
import { HttpClient } from "./lib/http";
import { openFilesLimit } from "./lib/machine";
import { BENCH_API_KEY, type ChildHandle, startAccessProcess, startServerProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section } from "./lib/report";
import { bytes, count, ms, summarize } from "./lib/stats";
import { openStormClients, type StormPool } from "./lib/storm-clients";

/** MENDIX_MAX_CONCURRENT of the run (the default). */
const MAX_CONCURRENT = 32;
/** How long the fake Mendix app takes per access check. */
const ACCESS_DELAY_MS = 20;
/** Every wait of the run is bounded by this. */
const WAIT_MS = 180_000;
const BROKER = { BROKER_APP_ID: "818181", BROKER_KEY: "benchstormkey0123", BROKER_SECRET: "bench-storm-secret-0123" };
const BEARER = { Authorization: `Bearer ${BENCH_API_KEY}` };
/** A typical payload's parts: the topic gives entity and guid. */
const TYPICAL = { action: "refresh", sender: "john.doe@example.com", data: "status=Shipped" };

export interface StormResult {
    clients: number;
    openSeconds: number;
    restartToListeningMs: number;
    caughtUp: ReturnType<typeof summarize>;
    /** Socket open again after the new server listens; the last authorization's wait (queue + check). */
    phases: { opened: ReturnType<typeof summarize>; authorization: ReturnType<typeof summarize> };
    peakAccessChecks: number;
    accessChecksDuringStorm: number;
    /** Authorization requests of the clients after the restart, and how many were answered 503/429. */
    authRequestsDuringStorm: number;
    refusedDuringStorm: number;
    missedDelivered: number;
    missedExpected: number;
    toldRestart: number;
    memory: { channels: number; perChannelOneAction: number; perChannelThreeActions: number };
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.once("error", reject);
        probe.listen(0, "127.0.0.1", () => {
            const { port } = probe.address() as AddressInfo;
            probe.close(() => resolve(port));
        });
    });
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) {
            throw new Error(`storm: timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 25));
    }
}

async function accessStats(access: HttpClient): Promise<{ inFlight: number; peak: number; total: number }> {
    return JSON.parse((await access.get("/stats")).body) as { inFlight: number; peak: number; total: number };
}

/** Notifies `topics` in batches of 100; every answer must be 200. */
async function notifyAll(http: HttpClient, topics: string[], action = TYPICAL.action): Promise<void> {
    for (let start = 0; start < topics.length; start += 100) {
        const notifications = topics.slice(start, start + 100).map(topic => ({ ...TYPICAL, action, topic }));
        const answer = await http.postJson("/rest/pusher/notify/batch", { notifications }, BEARER);
        if (answer.status !== 200) {
            throw new Error(`notify/batch answered ${answer.status}: ${answer.body.slice(0, 200)}`);
        }
    }
}

/** Heap of the catch-up state per channel: the server's heap after GC before and after notifying `channels`. */
async function catchupMemory(server: ChildHandle, http: HttpClient, channels: number) {
    const topics = Array.from({ length: channels }, (_unused, index) => `Bench.Memory.${index}`);
    const before = await server.stats(true);
    await notifyAll(http, topics);
    const one = await server.stats(true);
    await notifyAll(http, topics, "showMessage");
    await notifyAll(http, topics, "Refresh order");
    const three = await server.stats(true);
    return {
        channels,
        perChannelOneAction: (one.heapUsed - before.heapUsed) / channels,
        perChannelThreeActions: (three.heapUsed - before.heapUsed) / channels
    };
}

export const storm: Measurement = {
    id: "storm",
    async run(ctx: BenchContext): Promise<Section> {
        const clients = ctx.quick ? 500 : 5_000;
        const memoryChannels = ctx.quick ? 2_000 : 10_000;
        const limit = openFilesLimit();
        if (limit < clients + 1_000) {
            throw new Error(
                `ulimit -n is ${limit}; ${clients + 1_000} open files are needed: run 'ulimit -n 20000' first`
            );
        }
        const access = await startAccessProcess({ env: { ACCESS_DELAY_MS: String(ACCESS_DELAY_MS) } });
        const accessHttp = new HttpClient(access.url, 2);
        const port = await freePort();
        const env = {
            ...BROKER,
            BENCH_PORT: String(port),
            MENDIX_APP_URL: access.url,
            MENDIX_MAX_CONCURRENT: String(MAX_CONCURRENT)
        };
        let server = await startServerProcess({ logLevel: ctx.logLevel, env });
        // Each client is a browser with its own connection; the pool only bounds the driver.
        const http = new HttpClient(server.url, 2_048);
        let pool: StormPool | undefined;
        try {
            const config = await fetchClientConfig(http);
            ctx.log(`storm: subscribing ${clients} clients (each through the access check)`);
            const opened = Date.now();
            pool = openStormClients({
                http,
                config,
                count: clients,
                channelOf: index => `private-Bench.Storm.${index}`
            });
            await until(() => pool!.allSubscribed(), WAIT_MS, "every client to subscribe");
            const openSeconds = (Date.now() - opened) / 1000;
            ctx.log(`storm: ${clients} subscribed in ${openSeconds.toFixed(1)} s; restarting the server`);

            await accessHttp.postForm("/stats/reset", {});
            const authBefore = pool.authRequests;
            const refusedBefore = pool.clients.reduce((sum, client) => sum + client.refusals, 0);
            const stopped = Date.now();
            await server.close();
            server = await startServerProcess({ logLevel: ctx.logLevel, env });
            const listening = Date.now();
            // Sent by the new server before the pages are back: the catch-up must bring them.
            const notified = pool.clients.filter(client => client.index % 10 === 0);
            await notifyAll(
                http,
                notified.map(client => client.channel.slice("private-".length))
            );
            await until(
                () =>
                    pool!.clients.every(
                        client => client.state === "subscribed" && (client.caughtUpAt ?? 0) > listening
                    ),
                WAIT_MS,
                "every client to subscribe again and catch up"
            );
            const caughtUp = summarize(pool.clients.map(client => client.caughtUpAt! - listening));
            const phases = {
                opened: summarize(pool.clients.map(client => client.openedAt! - listening)),
                authorization: summarize(pool.clients.map(client => client.authAnsweredAt! - client.authSentAt!))
            };
            const stats = await accessStats(accessHttp);
            const missedDelivered = notified.filter(client => client.received.includes(TYPICAL.data)).length;
            const toldRestart = pool.clients.filter(client => client.lastCatchup?.lost === "restart").length;
            const authRequestsDuringStorm = pool.authRequests - authBefore;
            const refusedDuringStorm = pool.clients.reduce((sum, client) => sum + client.refusals, 0) - refusedBefore;
            ctx.log(`storm: every client caught up ${ms(caughtUp.max)} ms after the restart; measuring memory`);
            pool.close();
            pool = undefined;

            const memory = await catchupMemory(server, http, memoryChannels);
            const result: StormResult = {
                clients,
                openSeconds,
                restartToListeningMs: listening - stopped,
                caughtUp,
                phases,
                peakAccessChecks: stats.peak,
                accessChecksDuringStorm: stats.total,
                authRequestsDuringStorm,
                refusedDuringStorm,
                missedDelivered,
                missedExpected: notified.length,
                toldRestart,
                memory
            };
            return section(ctx, result);
        } finally {
            pool?.close();
            http.close();
            accessHttp.close();
            await Promise.all([server.close(), access.close()]);
        }
    }
};

function section(ctx: BenchContext, result: StormResult): Section {
    return {
        id: "storm",
        title: "8. Reconnect storm",
        method:
            `${count(result.clients)} clients, each a raw Pusher protocol 7 socket on its own private channel that reconnects and ` +
            `authorizes like the widget (immediate retry, then 0.5 s … 15 s backoff ±25 %; a refused authorization again ` +
            `after the request backoff or Retry-After; the catch-up cursor with every resubscription), every ` +
            `authorization through the browser path: a Mendix access check each, answered by a fake Mendix app in its own ` +
            `child process after ${ACCESS_DELAY_MS} ms. MENDIX_MAX_CONCURRENT=${MAX_CONCURRENT}, other settings default. The server ` +
            `child is stopped (sockets closed with 4200) and a new one started on the same port; right after it listens, ` +
            `one channel in ten is notified (the clients must get those through the catch-up). Caught up = subscribed again ` +
            `after an authorization whose answer evaluated the client's cursor; times from the new server listening. ` +
            `Memory: the restarted server's heap after forced GCs before and after notifying ${count(result.memory.channels)} ` +
            `new channels once (a typical payload), then twice more with two other actions.`,
        tables: [
            {
                head: ["after the new server listens", "p50 ms", "p99 ms", "max ms"],
                rows: [
                    [
                        `${count(result.clients)} clients subscribed and caught up`,
                        ms(result.caughtUp.p50),
                        ms(result.caughtUp.p99),
                        ms(result.caughtUp.max)
                    ],
                    [
                        "their sockets open again",
                        ms(result.phases.opened.p50),
                        ms(result.phases.opened.p99),
                        ms(result.phases.opened.max)
                    ],
                    [
                        "their authorization's wait (queue for the access check + check)",
                        ms(result.phases.authorization.p50),
                        ms(result.phases.authorization.p99),
                        ms(result.phases.authorization.max)
                    ]
                ]
            },
            {
                head: ["what", "measured"],
                rows: [
                    ["most access checks at the Mendix app at once (storm)", count(result.peakAccessChecks)],
                    ["access checks during the storm", count(result.accessChecksDuringStorm)],
                    [
                        "authorizations during the storm / answered 503 (busy, retried later)",
                        `${count(result.authRequestsDuringStorm)} / ${count(result.refusedDuringStorm)}`
                    ],
                    [
                        "notifications sent after the restart, delivered by the catch-up",
                        `${count(result.missedDelivered)} / ${count(result.missedExpected)}`
                    ],
                    [
                        "clients told the server restarted (lost: restart)",
                        `${count(result.toldRestart)} / ${count(result.clients)}`
                    ],
                    ["first subscription of all clients (before the restart)", `${result.openSeconds.toFixed(1)} s`],
                    ["server stopped -> new server listening", `${count(result.restartToListeningMs)} ms`],
                    ["catch-up state per channel, 1 action kept", bytes(result.memory.perChannelOneAction)],
                    ["catch-up state per channel, 3 actions kept", bytes(result.memory.perChannelThreeActions)]
                ]
            }
        ],
        targets: [
            {
                what: "most access checks sent to the Mendix app at once during the storm",
                goal: `<= ${MAX_CONCURRENT} (MENDIX_MAX_CONCURRENT)`,
                value: count(result.peakAccessChecks),
                met: result.peakAccessChecks <= MAX_CONCURRENT
            },
            {
                what: "notifications sent while the clients were away, delivered by the catch-up",
                goal: "all",
                value: `${count(result.missedDelivered)} / ${count(result.missedExpected)}`,
                met: result.missedDelivered === result.missedExpected
            }
        ],
        notes: [`Server log level ${ctx.logLevel}.`],
        raw: result
    };
}
