/**
 * Soak run (`npm run soak`, options `--seconds=N` (default 60), `--clients=N` (1000), `--rate=N` (500 per
 * second), `--restart-clients=N` (200), `--pages=N` (100)). Everything on 127.0.0.1, every wait bounded.
 *
 * 1. Starts the server as its own process (`node --expose-gc --import tsx test/soak/server-entry.ts`: the
 *    real server/main.ts plus a probe reporting the process's own memory and event-loop delay over IPC).
 * 2. Connects `clients` real pusher-js clients, each on its own private channel (authorized through
 *    POST /rest/pusher/auth), then sends `rate` notifications per second for `seconds` (half as single
 *    notify requests, half in batches of 25), round-robin over the channels.
 * 3. Checks every client received every accepted notification for its channel exactly once and nothing
 *    else (0 lost, 0 duplicated, 0 wrong channel), and that the server's heap after a full GC at the end is
 *    within 10 % of its level after warm-up; reports RSS, event-loop delay p99 and delivery latency.
 * 4. Catch-up: `pages` widget pages (the widget's own connection code, src/connection, with real pusher-js) reach
 *    the server through a TCP proxy that cuts them all off for 5 s while notifications to them keep coming: counts
 *    duplicated and lost runs (0 of each: every notification ran, or a later one of its action did through the
 *    catch-up) and possible losses reported (none). The pages stay through the restart below, after which every one
 *    must report that it may have lost notifications.
 * 5. Restart under load: keeps `restart-clients` clients, sends SIGTERM while notifications keep coming
 *    (in-flight ones must complete or fail cleanly, sockets must close with 4200, exit within 10 s), starts a
 *    new process on the same port with the same broker credentials, waits until every client reconnected and
 *    resubscribed by itself, and checks the next notification reaches every one.
 * 6. Scans the server's log (written to a file in the temp directory) for the API key and broker secret.
 * Prints a summary table; exits 1 when an invariant fails. `SOAK_PROF=<dir>` also writes CPU profiles of the
 * server processes there.
 */
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type PusherClient from "pusher-js";
import { RESEND_DELAY_MS } from "../../server/catchup";
import { startProxy, type CuttableProxy } from "../e2e/proxy";
import {
    API_KEY,
    BEARER,
    BROKER,
    createListener,
    processEnv,
    sleep,
    spawnServer,
    until,
    type ServerProcess
} from "../reliability/harness";
import { countAllRuns, openWidgetPage, type Sent, type WidgetPage } from "../reliability/widget-pages";
import type { ProbeRequest, ProbeSample } from "./server-entry";

interface Options {
    seconds: number;
    clients: number;
    rate: number;
    restartClients: number;
    pages: number;
}

function parseOptions(argv: string[]): Options {
    const options: Options = { seconds: 60, clients: 1000, rate: 500, restartClients: 200, pages: 100 };
    for (const arg of argv) {
        const match = /^--(seconds|clients|rate|restart-clients|pages)=(\d+)$/.exec(arg);
        if (!match) {
            throw new Error(
                `Unknown option ${arg}; use --seconds=N --clients=N --rate=N --restart-clients=N --pages=N`
            );
        }
        const value = Number(match[2]);
        if (match[1] === "seconds") options.seconds = value;
        if (match[1] === "clients") options.clients = value;
        if (match[1] === "rate") options.rate = value;
        if (match[1] === "restart-clients") options.restartClients = value;
        if (match[1] === "pages") options.pages = value;
    }
    if (
        options.seconds < 5 ||
        options.clients < 1 ||
        options.rate < 1 ||
        options.restartClients > options.clients ||
        options.pages < 1
    ) {
        throw new Error(
            "Need --seconds >= 5, --clients >= 1, --rate >= 1, --restart-clients <= --clients and --pages >= 1"
        );
    }
    return options;
}

const ENTRY = "test/soak/server-entry.ts";
/** Every client connects from 127.0.0.1: the per-address limits would count 1,000 browsers as one. */
const SERVER_ENV = {
    RATE_LIMIT_NOTIFY: "1000000",
    RATE_LIMIT_AUTH: "1000000",
    RATE_LIMIT_AUTH_ADDRESS: "10000000",
    BROKER_MAX_CONNECTIONS_PER_ADDRESS: "1000000",
    LOG_LEVEL: "info"
};

/** Keep-alive connections of the driver to the server: requests beyond them wait in the agent's queue. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 48 });

/** POSTs JSON with the API key over the keep-alive agent; resolves with the status. */
function postJson(url: string, body: unknown): Promise<number> {
    return new Promise((resolve, reject) => {
        const payload = Buffer.from(JSON.stringify(body));
        const req = http.request(
            url,
            {
                method: "POST",
                agent,
                headers: { ...BEARER, "Content-Type": "application/json", "Content-Length": payload.length }
            },
            res => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
                res.on("error", reject);
            }
        );
        req.on("error", reject);
        req.setTimeout(30_000, () => req.destroy(new Error("timeout after 30 s")));
        req.end(payload);
    });
}

/** Asks the server process for a probe sample. */
function probe(server: ServerProcess, request: Omit<ProbeRequest, "type">): Promise<ProbeSample> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the server probe did not answer")), 10_000);
        const onMessage = (message: ProbeSample) => {
            if (message?.type === "sample") {
                clearTimeout(timer);
                server.child.off("message", onMessage);
                resolve(message);
            }
        };
        server.child.on("message", onMessage);
        server.child.send({ type: "sample", ...request } satisfies ProbeRequest);
    });
}

/** Server logs go to a file: a driver busy with its clients must never stall the server's log writes. */
const LOG_FILE = path.join(os.tmpdir(), `notifylisten-soak-${process.pid}.log`);

function startServer(port = 0): Promise<ServerProcess> {
    return spawnServer(processEnv({ ...SERVER_ENV, PORT: String(port) }), {
        via: "node",
        entry: ENTRY,
        logFile: LOG_FILE,
        nodeArgs: [
            "--expose-gc",
            ...(process.env.SOAK_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.SOAK_PROF}`] : [])
        ]
    });
}

function percentile(values: number[], p: number): number {
    if (values.length === 0) return 0;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** One pusher-js client of the run with what it received. */
interface Listener {
    index: number;
    client: PusherClient;
    channel: string;
    /** seq -> times received */
    received: Map<number, number>;
    /** Events that arrived for a channel other than this client's. */
    wrongChannel: number;
    closeCodes: number[];
}

function connectListener(server: { url: string; port: number }, index: number, latencies: number[]): Listener {
    const client = createListener(server, BEARER);
    const listener: Listener = {
        index,
        client,
        channel: `private-Soak.Item.${index}`,
        received: new Map(),
        wrongChannel: 0,
        closeCodes: []
    };
    client.subscribe(listener.channel);
    client.bind_global((event: string, payload: { data?: string } | undefined) => {
        if (event !== "refresh" || typeof payload?.data !== "string") return;
        const [seqText, channelIndex, sentAt] = payload.data.split(":");
        if (Number(channelIndex) !== index) {
            listener.wrongChannel++;
            return;
        }
        const seq = Number(seqText);
        listener.received.set(seq, (listener.received.get(seq) ?? 0) + 1);
        latencies.push(Date.now() - Number(sentAt));
    });
    client.connection.bind("error", (error: { error?: { data?: { code?: number } } }) => {
        const code = error.error?.data?.code;
        if (code !== undefined) listener.closeCodes.push(code);
    });
    return listener;
}

interface Sender {
    sent: number;
    accepted: Map<number, number>;
    failed: number;
    failures: Map<string, number>;
    requests: number;
}

/**
 * Sends notifications at `rate` per second until `stop()` returns true: each 100 ms tick half single notify
 * requests, half batches of up to 25; notification `seq` goes to channel `target(seq)`.
 */
async function sendLoad(
    url: string,
    rate: number,
    target: (seq: number) => number,
    stop: () => boolean,
    sender: Sender,
    firstSeq: number
): Promise<number> {
    let seq = firstSeq;
    const started = Date.now();
    let due = 0;
    const inFlight = new Set<Promise<void>>();
    let lastReport = Date.now();
    const post = (path: string, body: unknown, seqs: Array<[number, number]>) => {
        sender.requests++;
        const promise = postJson(`${url}${path}`, body)
            .then(status => {
                if (status === 200) {
                    for (const [s, channel] of seqs) sender.accepted.set(s, channel);
                } else {
                    sender.failed += seqs.length;
                    sender.failures.set(`HTTP ${status}`, (sender.failures.get(`HTTP ${status}`) ?? 0) + 1);
                }
            })
            .catch((error: Error & { code?: string }) => {
                sender.failed += seqs.length;
                const key = error.code ?? error.message;
                sender.failures.set(key, (sender.failures.get(key) ?? 0) + 1);
            })
            .finally(() => inFlight.delete(promise));
        inFlight.add(promise);
    };
    const notification = (s: number) => {
        const channel = target(s);
        return { topic: `Soak.Item.${channel}`, action: "refresh", data: `${s}:${channel}:${Date.now()}` };
    };
    while (!stop()) {
        // Catch up on what is due so far, so late ticks do not lower the average rate.
        due = Math.floor(((Date.now() - started) / 1000) * rate);
        let count = due - (seq - firstSeq);
        while (count > 0) {
            const singles = Math.min(count, Math.ceil(count / 2));
            for (let i = 0; i < singles; i++) {
                const s = seq++;
                sender.sent++;
                post("/rest/pusher/notify", notification(s), [[s, target(s)]]);
            }
            count -= singles;
            while (count > 0) {
                const size = Math.min(25, count);
                const items = Array.from({ length: size }, () => seq++);
                sender.sent += size;
                post(
                    "/rest/pusher/notify/batch",
                    { notifications: items.map(notification) },
                    items.map(s => [s, target(s)] as [number, number])
                );
                count -= size;
            }
        }
        if (inFlight.size > 5_000) {
            throw new Error(
                `More than 5,000 requests in flight after ${sender.sent} sent: the server does not keep up`
            );
        }
        if (Date.now() - lastReport >= 10_000) {
            lastReport = Date.now();
            console.log(
                `soak: ${((Date.now() - started) / 1000).toFixed(0)} s: ${sender.sent} sent, ${sender.accepted.size} accepted, ` +
                    `${sender.failed} refused, ${inFlight.size} requests in flight`
            );
        }
        await sleep(100);
    }
    await Promise.all([...inFlight]);
    return seq;
}

/**
 * Notifications to the widget pages' channels (`private-Soak.Page.<i>`), one every `everyMs` round-robin over the
 * pages and three actions, until `stop()`; each accepted one is recorded in `sent`.
 */
async function sendToPages(url: string, pages: number, everyMs: number, sent: Sent[], stop: () => boolean) {
    const actions = ["refresh", "showMessage", "Refresh order"];
    const inFlight = new Set<Promise<void>>();
    for (let n = 0; !stop(); n++) {
        const page = n % pages;
        const action = actions[Math.floor(n / pages) % actions.length];
        const at = Date.now();
        const data = `page-${n}`;
        const request = postJson(`${url}/rest/pusher/notify`, { topic: `Soak.Page.${page}`, action, data })
            .then(status => {
                if (status === 200) sent.push({ channel: `private-Soak.Page.${page}`, action, data, at });
            })
            .catch(() => undefined)
            .finally(() => inFlight.delete(request));
        inFlight.add(request);
        await sleep(everyMs);
    }
    await Promise.all([...inFlight]);
}

interface Check {
    name: string;
    ok: boolean;
    detail: string;
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    const driverDelay = monitorEventLoopDelay({ resolution: 10 });
    const lagMs = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - 10);
    driverDelay.enable();
    const checks: Check[] = [];
    const rows: Array<[string, string]> = [];
    const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
    const runStarted = Date.now();
    const listeners: Listener[] = [];
    let server: ServerProcess | undefined;
    let second: ServerProcess | undefined;
    let proxy: CuttableProxy | undefined;
    const pages: WidgetPage[] = [];

    try {
        console.log(`soak: ${options.clients} clients, ${options.rate} notifications/s for ${options.seconds} s`);
        server = await startServer();
        console.log(`soak: server pid ${server.child.pid} on ${server.url}`);

        // --- connect the clients -----------------------------------------------------------------------
        const latencies: number[] = [];
        const connectStarted = Date.now();
        for (let start = 0; start < options.clients; start += 100) {
            const wave: Listener[] = [];
            for (let i = start; i < Math.min(options.clients, start + 100); i++) {
                wave.push(connectListener(server, i, latencies));
            }
            listeners.push(...wave);
            await until(
                () => wave.every(l => l.client.channel(l.channel)?.subscribed === true),
                60_000,
                `clients ${start}..${start + wave.length - 1} to subscribe`
            );
        }
        const connectMs = Date.now() - connectStarted;
        rows.push(["clients connected and subscribed", `${listeners.length} in ${(connectMs / 1000).toFixed(1)} s`]);
        rows.push(["private channels", String(new Set(listeners.map(l => l.channel)).size)]);

        // --- steady load -------------------------------------------------------------------------------
        const warmupMs = Math.min(10_000, Math.max(2_000, (options.seconds * 1000) / 5));
        const sender: Sender = { sent: 0, accepted: new Map(), failed: 0, failures: new Map(), requests: 0 };
        const loadStarted = Date.now();
        let baseline: ProbeSample | undefined;
        const loadEnd = loadStarted + options.seconds * 1000;
        const warmup = (async () => {
            await sleep(warmupMs);
            baseline = await probe(server!, { gc: true, resetDelay: true });
            driverDelay.reset();
        })();
        const lastSeq = await sendLoad(
            server.url,
            options.rate,
            seq => seq % options.clients,
            () => Date.now() >= loadEnd,
            sender,
            0
        );
        await warmup;
        const loadMs = Date.now() - loadStarted;
        const endSample = await probe(server, { gc: true });
        const serverDelay = endSample.delay;
        const driverP99 = lagMs(driverDelay.percentile(99));

        // --- deliveries ----------------------------------------------------------------------------------
        const expectedBy = new Map<number, number[]>();
        for (const [seq, channel] of sender.accepted) {
            const list = expectedBy.get(channel) ?? [];
            list.push(seq);
            expectedBy.set(channel, list);
        }
        const missing = () =>
            listeners.reduce(
                (sum, l) => sum + (expectedBy.get(l.index) ?? []).filter(seq => !l.received.has(seq)).length,
                0
            );
        await until(() => missing() === 0, 15_000, "the last deliveries").catch(() => undefined);
        await sleep(500);
        let lost = 0;
        let duplicated = 0;
        let unexpected = 0;
        let delivered = 0;
        for (const l of listeners) {
            const expected = new Set(expectedBy.get(l.index) ?? []);
            for (const seq of expected) {
                const times = l.received.get(seq) ?? 0;
                if (times === 0) lost++;
                if (times > 1) duplicated += times - 1;
            }
            for (const [seq, times] of l.received) {
                delivered += times;
                if (!expected.has(seq)) unexpected += times;
            }
        }
        const wrongChannel = listeners.reduce((sum, l) => sum + l.wrongChannel, 0);
        const achievedRate = sender.sent / (loadMs / 1000);
        const heapGrowth = baseline
            ? (endSample.memory.heapUsed - baseline.memory.heapUsed) / baseline.memory.heapUsed
            : 0;
        const rssGrowth = baseline ? (endSample.memory.rss - baseline.memory.rss) / baseline.memory.rss : 0;

        rows.push(["load duration", `${(loadMs / 1000).toFixed(1)} s (warm-up ${(warmupMs / 1000).toFixed(0)} s)`]);
        rows.push(["notifications sent", `${sender.sent} (${achievedRate.toFixed(0)}/s, ${sender.requests} requests)`]);
        rows.push(["notifications accepted (200)", String(sender.accepted.size)]);
        rows.push(["notifications refused", `${sender.failed} ${JSON.stringify(Object.fromEntries(sender.failures))}`]);
        rows.push(["deliveries received", String(delivered)]);
        rows.push([
            "lost / duplicated / wrong channel / unexpected",
            `${lost} / ${duplicated} / ${wrongChannel} / ${unexpected}`
        ]);
        rows.push([
            "delivery latency p50 / p99 / max",
            `${percentile(latencies, 50)} / ${percentile(latencies, 99)} / ${percentile(latencies, 100)} ms`
        ]);
        if (baseline) {
            rows.push([
                "server heap after GC: warm-up -> end",
                `${mb(baseline.memory.heapUsed)} -> ${mb(endSample.memory.heapUsed)} (${(heapGrowth * 100).toFixed(1)} %)`
            ]);
            rows.push([
                "server RSS: warm-up -> end",
                `${mb(baseline.memory.rss)} -> ${mb(endSample.memory.rss)} (${(rssGrowth * 100).toFixed(1)} %)`
            ]);
        }
        rows.push([
            "server event-loop lag p50 / p99 / max",
            `${serverDelay.p50} / ${serverDelay.p99} / ${serverDelay.max} ms`
        ]);
        rows.push(["driver event-loop lag p99 (1 process, all clients)", `${driverP99.toFixed(1)} ms`]);

        check("every notification accepted", sender.failed === 0, `${sender.failed} refused`);
        check("rate reached (>= 95 % of target)", achievedRate >= options.rate * 0.95, `${achievedRate.toFixed(0)}/s`);
        check("0 lost", lost === 0, String(lost));
        check("0 duplicated", duplicated === 0, String(duplicated));
        check("0 wrong channel", wrongChannel === 0 && unexpected === 0, `${wrongChannel} / ${unexpected}`);
        check(
            "server heap at the end within 10 % of warm-up",
            baseline !== undefined && heapGrowth <= 0.1,
            `${(heapGrowth * 100).toFixed(1)} %`
        );

        // --- catch-up: widget pages cut off for 5 s -------------------------------------------------------
        proxy = await startProxy(server.url);
        for (let i = 0; i < options.pages; i++) {
            pages.push(openWidgetPage(proxy.url, [`private-Soak.Page.${i}`], BEARER));
        }
        await until(() => pages.every(page => page.subscribed() === 1), 60_000, "every widget page to subscribe");
        const pageSent: Sent[] = [];
        let stopPages = false;
        const pageLoad = sendToPages(server.url, options.pages, 5, pageSent, () => stopPages);
        await sleep(2_000);
        const cutAt = Date.now();
        proxy.cut();
        await sleep(5_000);
        proxy.restore();
        const cuts: Array<[number, number]> = [[cutAt, Date.now()]];
        await until(() => pages.every(page => page.subscribed() === 1), 30_000, "every widget page to subscribe again");
        const pagesBackMs = Date.now() - cuts[0][1];
        await sleep(RESEND_DELAY_MS + 2_000);
        stopPages = true;
        await pageLoad;
        await sleep(RESEND_DELAY_MS + 1_000);
        const pageCounts = countAllRuns(pages, pageSent, 1_000, cuts);
        const pageReconnected = pages.flatMap(page => page.reconnected);
        const possiblyLost = pageReconnected.filter(info => info.mayHaveLost).length;
        rows.push([
            "catch-up: widget pages cut off for 5 s",
            `${pages.length}, all listening again ${(pagesBackMs / 1000).toFixed(1)} s after the cut ended`
        ]);
        rows.push(["catch-up: notifications to them / runs", `${pageSent.length} / ${pageCounts.runs}`]);
        rows.push([
            "catch-up: duplicated / lost / live lost / unexpected runs",
            `${pageCounts.duplicated} / ${pageCounts.lost} / ${pageCounts.lostLive} / ${pageCounts.unexpected}`
        ]);
        check("catch-up: 0 duplicated runs", pageCounts.duplicated === 0, String(pageCounts.duplicated));
        check(
            "catch-up: 0 lost runs",
            pageCounts.lost === 0 && pageCounts.lostLive === 0 && pageCounts.unexpected === 0,
            `${pageCounts.lost} / ${pageCounts.lostLive} / ${pageCounts.unexpected}`
        );
        check(
            "catch-up: every page reconnected once, nothing reported lost",
            pageReconnected.length === pages.length && possiblyLost === 0,
            `${pageReconnected.length} reconnected, ${possiblyLost} possibly lost`
        );
        const reconnectedBeforeRestart = pages.map(page => page.reconnected.length);

        // --- restart under load ------------------------------------------------------------------------
        const keep = listeners.slice(0, options.restartClients);
        for (const l of listeners.slice(options.restartClients)) {
            l.client.disconnect();
        }
        await until(() => keep.every(l => l.client.connection.state === "connected"), 10_000, "the remaining clients");
        for (const l of keep) {
            l.received.clear();
            l.closeCodes.length = 0;
        }
        const restartSender: Sender = { sent: 0, accepted: new Map(), failed: 0, failures: new Map(), requests: 0 };
        let stopRestartLoad = false;
        const restartRate = Math.max(50, Math.round(options.rate / 5));
        const restartLoad = sendLoad(
            server.url,
            restartRate,
            seq => seq % options.restartClients,
            () => stopRestartLoad,
            restartSender,
            lastSeq + 1
        );
        await sleep(2_000);
        const acceptedBeforeTerm = new Map(restartSender.accepted);
        const terminatedAt = Date.now();
        const first = server;
        first.child.kill("SIGTERM");
        const exit = await Promise.race([first.exited, sleep(10_000).then(() => "timeout" as const)]);
        const exitMs = Date.now() - terminatedAt;
        // Everything accepted by the old process (before and during its shutdown) was delivered before 4200.
        const acceptedByOld = new Map(restartSender.accepted);
        server = undefined;
        second = await startServer(first.port);
        const restartedAt = Date.now();
        await until(
            () =>
                keep.every(
                    l => l.client.connection.state === "connected" && l.client.channel(l.channel)?.subscribed === true
                ),
            45_000,
            "every client to reconnect and resubscribe"
        ).catch(() => undefined);
        const resubscribedMs = Date.now() - restartedAt;
        const resubscribed = keep.filter(
            l => l.client.connection.state === "connected" && l.client.channel(l.channel)?.subscribed === true
        ).length;
        await sleep(1_000);
        stopRestartLoad = true;
        await restartLoad;

        // The next notification reaches every client.
        const finalSeq = 10_000_000;
        const finalStatuses: number[] = [];
        for (let start = 0; start < keep.length; start += 100) {
            const notifications = keep.slice(start, start + 100).map(l => ({
                topic: `Soak.Item.${l.index}`,
                action: "refresh",
                data: `${finalSeq + l.index}:${l.index}:${Date.now()}`
            }));
            finalStatuses.push(
                await postJson(`${second.url}/rest/pusher/notify/batch`, { notifications }).catch(() => 0)
            );
        }
        const final = [...new Set(finalStatuses)].join(", ");
        const finalReceived = async () => keep.filter(l => l.received.has(finalSeq + l.index)).length;
        await until(async () => (await finalReceived()) === keep.length, 10_000, "the final notification").catch(
            () => undefined
        );
        const lostByOld = [...acceptedByOld].filter(([seq, channel]) => !keep[channel].received.has(seq)).length;
        const closed4200 = keep.filter(l => l.closeCodes.includes(4200)).length;
        const reached = await finalReceived();

        rows.push(["restart: clients kept", String(keep.length)]);
        rows.push([
            "restart: notifications during restart",
            `${restartSender.sent} sent (${restartRate}/s), ${restartSender.accepted.size} accepted ` +
                `(${acceptedBeforeTerm.size} before SIGTERM), refused ${JSON.stringify(Object.fromEntries(restartSender.failures))}`
        ]);
        rows.push(["restart: SIGTERM -> exit", `${String(exit)} after ${exitMs} ms`]);
        rows.push(["restart: sockets closed with 4200", `${closed4200} / ${keep.length}`]);
        rows.push(["restart: accepted by the old process but lost", String(lostByOld)]);
        rows.push([
            "restart: resubscribed after restart",
            `${resubscribed} / ${keep.length} in ${(resubscribedMs / 1000).toFixed(1)} s`
        ]);
        rows.push(["restart: next notification reached", `${reached} / ${keep.length} (HTTP ${final})`]);

        check("SIGTERM: exit 0 within 10 s", exit === 0 && exitMs < 10_000, `${String(exit)} after ${exitMs} ms`);
        check("SIGTERM: sockets closed with 4200", closed4200 === keep.length, `${closed4200} / ${keep.length}`);
        check("SIGTERM: nothing accepted by the old process lost", lostByOld === 0, String(lostByOld));
        check("restart: every client resubscribed", resubscribed === keep.length, `${resubscribed} / ${keep.length}`);
        check(
            "restart: the next notification reached every client",
            reached === keep.length,
            `${reached} / ${keep.length}`
        );
        await until(
            () => pages.every((page, i) => page.reconnected.length > reconnectedBeforeRestart[i]),
            30_000,
            "every widget page to subscribe again after the restart"
        ).catch(() => undefined);
        const toldLost = pages.filter((page, i) =>
            page.reconnected.slice(reconnectedBeforeRestart[i]).some(info => info.mayHaveLost)
        ).length;
        rows.push(["restart: widget pages told they may have lost notifications", `${toldLost} / ${pages.length}`]);
        check(
            "restart: every widget page told it may have lost notifications",
            toldLost === pages.length,
            `${toldLost} / ${pages.length}`
        );
    } catch (error) {
        check("run completed", false, (error as Error).message);
    } finally {
        for (const l of listeners) l.client.disconnect();
        for (const page of pages) page.close();
        await proxy?.close();
        for (const proc of [server, second]) {
            if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
                proc.child.kill("SIGTERM");
                await Promise.race([proc.exited, sleep(10_000)]);
                if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
            }
        }
    }

    const log = fs.existsSync(LOG_FILE) ? fs.readFileSync(LOG_FILE, "utf8") : "";
    const logLines = log.split("\n").filter(Boolean).length;
    check(
        "no secret in the server log",
        logLines > 0 && !log.includes(API_KEY) && !log.includes(BROKER.secret),
        `${logLines} lines scanned`
    );
    rows.push(["total run time", `${((Date.now() - runStarted) / 1000).toFixed(1)} s`]);
    rows.push(["server log", LOG_FILE]);
    const width = Math.max(...rows.map(([name]) => name.length), ...checks.map(c => c.name.length + 7));
    console.log("\nSoak summary");
    console.log("-".repeat(width + 40));
    for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
    console.log("-".repeat(width + 40));
    for (const c of checks) console.log(`${(c.ok ? "[ok]   " : "[FAIL] ") + c.name.padEnd(width - 7)}  ${c.detail}`);
    const failed = checks.filter(c => !c.ok).length;
    console.log(failed === 0 ? "\nAll invariants hold." : `\n${failed} invariant(s) failed.`);
    process.exit(failed === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
