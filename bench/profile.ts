/**
 * 7. Profile: where the companion server's CPU goes on the paths that miss their targets. Each
 * scenario runs a fresh server child, opens its subscribers, warms it up, then records a V8 CPU
 * profile (the profiler `node --cpu-prof` uses, started and stopped over IPC so that start-up and
 * connection set-up stay out) while the driver loads it for a fixed time, and summarizes the
 * profile (bench/lib/profile.ts).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openRawPusherSockets, type RawPool } from "./lib/clients";
import { type HttpAnswer, HttpClient, runLoad } from "./lib/http";
import { BENCH_API_KEY, type ChildHandle, startAccessProcess, startServerProcess } from "./lib/processes";
import { type LayerRule, type ProfileSummary, type Share, summarizeProfile } from "./lib/profile";
import type { BenchContext, Measurement, Section, Table } from "./lib/report";
import { count, percent } from "./lib/stats";

const ENTITY = "Bench.Prof";
const BEARER = { Authorization: `Bearer ${BENCH_API_KEY}` };

interface Scenario {
    id: string;
    /** Break the busy time down by layer of the notify request chain. */
    layers?: boolean;
    label: string;
    /** Subscribers (raw Pusher-protocol sockets); socket i on `private-Bench.Prof.<guidOf(i)>`. */
    sockets: number;
    guidOf(index: number): string;
    concurrency: number;
    /** Run a fake Mendix access check child and point MENDIX_APP_URL at it. */
    accessCheck?: boolean;
    request(http: HttpClient, call: number): Promise<HttpAnswer>;
}

export interface ScenarioProfile {
    scenario: string;
    requests: number;
    perSecond: number;
    summary: ProfileSummary;
}

const owners =
    (...names: string[]) =>
    (_frame: unknown, owner: string): boolean =>
        names.includes(owner);

/**
 * The layers of the notify request chain, for the per-layer table. A sample goes to the innermost layer on its
 * stack, so a middleware's share is its own work, not the chain it calls with `next()`.
 */
export const NOTIFY_LAYERS: LayerRule[] = [
    { name: "garbage collector", matches: frame => frame.functionName === "(garbage collector)" },
    { name: "zod: the notification schema", matches: owners("zod") },
    {
        name: "catch-up stamping (server/catchup*.ts)",
        matches: (_frame, owner) => owner.startsWith("server/catchup")
    },
    {
        name: "broker: event checks, frame, delivery to the sockets (server/broker/, ws)",
        matches: (_frame, owner) =>
            owner.startsWith("server/broker/") || owner === "ws" || owner === "server/trigger.ts"
    },
    {
        name: "prepareNotification: channel, payload JSON",
        matches: frame => frame.functionName === "prepareNotification"
    },
    { name: "notify route handler (server/routes/notify.ts)", matches: owners("server/routes/notify.ts") },
    {
        name: "JSON body: server/body.ts (checks, reading, JSON.parse)",
        matches: owners("server/body.ts", "body-parser", "raw-body", "type-is", "content-type", "media-typer")
    },
    { name: "rate limit: express-rate-limit", matches: owners("express-rate-limit") },
    { name: "API key: server/apikey.ts", matches: owners("server/apikey.ts") },
    { name: "request context and logs: server/request.ts, pino", matches: owners("server/request.ts", "pino") },
    {
        name: "small middlewares: server/middleware.ts, server/http-hardening.ts",
        matches: owners("server/middleware.ts", "server/http-hardening.ts", "vary")
    },
    {
        name: "JSON answer: server/answer.ts, Express's res.json",
        matches: (frame, owner) => owner === "server/answer.ts" || frame.url.includes("express/lib/response")
    },
    { name: "Express routing: express, router", matches: owners("express", "router", "path-to-regexp") }
];
const OTHER_LAYER = "Node: HTTP parsing, streams, socket writes (no layer on the stack)";

function notification(guid: string, call: number) {
    return { entity: ENTITY, guid, action: "changed", sender: "bench", data: String(call) };
}

async function profileScenario(ctx: BenchContext, scenario: Scenario, durationMs: number): Promise<ScenarioProfile> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "notifylisten-prof-"));
    let access: ChildHandle | undefined;
    try {
        access = scenario.accessCheck ? await startAccessProcess() : undefined;
        const server = await startServerProcess({
            logLevel: ctx.logLevel,
            env: access === undefined ? {} : { MENDIX_APP_URL: access.url }
        });
        const file = path.join(dir, `${scenario.id}.cpuprofile`);
        const setupHttp = new HttpClient(server.url, 32);
        const http = new HttpClient(server.url, scenario.concurrency);
        let sockets: RawPool | undefined;
        let requests = 0;
        let perSecond = NaN;
        try {
            ctx.log(`profile ${scenario.id}: ${scenario.sockets} sockets, ${durationMs} ms of load`);
            if (scenario.sockets > 0) {
                sockets = await openRawPusherSockets({
                    http: setupHttp,
                    apiKey: BENCH_API_KEY,
                    count: scenario.sockets,
                    channelsOf: index => [`private-${ENTITY}.${scenario.guidOf(index)}`]
                });
                sockets.onFrame(() => undefined);
            }
            const task = async (call: number): Promise<boolean> => (await scenario.request(http, call)).status === 200;
            await runLoad({ concurrency: scenario.concurrency, durationMs: 500, maxRequests: 100_000, task });
            await server.startProfile();
            const load = await runLoad({ concurrency: scenario.concurrency, durationMs, maxRequests: 1_000_000, task });
            await server.stopProfile(file);
            // BENCH_PROFILE_KEEP=<folder> keeps the raw .cpuprofile (open it in Chrome DevTools or speedscope).
            if (process.env.BENCH_PROFILE_KEEP) {
                mkdirSync(process.env.BENCH_PROFILE_KEEP, { recursive: true });
                copyFileSync(file, path.join(process.env.BENCH_PROFILE_KEEP, `${scenario.id}.cpuprofile`));
            }
            if (load.failed > 0) {
                throw new Error(`${load.failed} requests failed while profiling ${scenario.id}`);
            }
            requests = load.ok;
            perSecond = load.perSecond;
        } finally {
            sockets?.close();
            setupHttp.close();
            http.close();
            await server.close();
        }
        const layers = scenario.layers ? { rules: NOTIFY_LAYERS, otherLayer: OTHER_LAYER } : undefined;
        return { scenario: scenario.id, requests, perSecond, summary: summarizeProfile(file, 15, layers) };
    } finally {
        await access?.close();
        rmSync(dir, { recursive: true, force: true });
    }
}

function shareTable(title: string, shares: Share[], busyMs: number): Table {
    return {
        head: [title, "ms", "share of busy CPU"],
        rows: shares.map(share => [share.name.replace(/\|/g, "\\|"), share.ms.toFixed(0), percent(share.ms / busyMs)])
    };
}

const SCENARIOS: Scenario[] = [
    {
        id: "notify-single",
        layers: true,
        label: "`POST /rest/pusher/notify`, one at a time, 1 subscriber (the latency path)",
        sockets: 1,
        guidOf: () => "1",
        concurrency: 1,
        request: (http, call) => http.postJson("/rest/pusher/notify", notification("1", call), BEARER)
    },
    {
        id: "notify-throughput",
        layers: true,
        label: "`POST /rest/pusher/notify`, 16 in flight, no subscriber (the path of the notify API target)",
        sockets: 0,
        guidOf: () => "1",
        concurrency: 16,
        request: (http, call) => http.postJson("/rest/pusher/notify", notification(String(call % 1000), call), BEARER)
    },
    {
        id: "notify-batch",
        layers: true,
        label: "`POST /rest/pusher/notify/batch`, 100 per call over 100 channels with 1 subscriber each, 4 in flight",
        sockets: 100,
        guidOf: index => String(100 + index),
        concurrency: 4,
        request: (http, call) =>
            http.postJson(
                "/rest/pusher/notify/batch",
                { notifications: Array.from({ length: 100 }, (_x, item) => notification(String(100 + item), call)) },
                BEARER
            )
    },
    {
        id: "fanout-one-channel",
        label: "`POST /rest/pusher/notify` to 1 channel with 1,000 subscribers, 4 in flight",
        sockets: 1000,
        guidOf: () => "1",
        concurrency: 4,
        request: (http, call) => http.postJson("/rest/pusher/notify", notification("1", call), BEARER)
    },
    {
        id: "auth-browser",
        label: "`POST /rest/pusher/auth` from a browser (access check answered at once by a fake Mendix), 16 in flight",
        sockets: 0,
        guidOf: () => "1",
        concurrency: 16,
        accessCheck: true,
        request: (http, call) =>
            http.postForm(
                "/rest/pusher/auth",
                { socket_id: `1234.${call}`, channel_name: `private-${ENTITY}.${call % 1000}` },
                { Cookie: "XASSESSIONID=bench-session", "X-Csrf-Token": "bench-csrf-token" }
            )
    }
];

export const profile: Measurement = {
    id: "profile",
    async run(ctx: BenchContext): Promise<Section> {
        const durationMs = ctx.quick ? 1_000 : 5_000;
        // The smoke run profiles the latency path only.
        // BENCH_PROFILE=id,... limits the run to those scenarios (for a quick look at one path).
        const only = process.env.BENCH_PROFILE?.split(",").filter(Boolean);
        const scenarios =
            only !== undefined && only.length > 0
                ? SCENARIOS.filter(s => only.includes(s.id))
                : ctx.quick
                  ? SCENARIOS.slice(0, 1)
                  : SCENARIOS;
        const results: ScenarioProfile[] = [];
        for (const scenario of scenarios) {
            results.push(await profileScenario(ctx, scenario, durationMs));
        }
        const tables: Table[] = [];
        const notes: string[] = [];
        for (const result of results) {
            const scenario = scenarios.find(s => s.id === result.scenario)!;
            const { summary } = result;
            notes.push(
                `${scenario.id}: ${scenario.label}; ${count(result.requests)} requests (${count(result.perSecond)}/s), ` +
                    `server busy ${summary.busyMs.toFixed(0)} of ${summary.totalMs.toFixed(0)} ms profiled ` +
                    `(${((summary.busyMs / Math.max(1, result.requests)) * 1000).toFixed(0)} µs per request).`
            );
            if (summary.byLayer.length > 0) {
                const perRequest = (share: Share): string =>
                    ((share.ms / Math.max(1, result.requests)) * 1000).toFixed(0);
                tables.push({
                    head: [`${scenario.id}: busy time by layer of the request chain`, "ms", "share", "µs per request"],
                    rows: summary.byLayer.map(share => [
                        share.name,
                        share.ms.toFixed(0),
                        percent(share.ms / summary.busyMs),
                        perRequest(share)
                    ])
                });
            }
            tables.push(
                shareTable(`${scenario.id}: self time by owner`, summary.byOwner.slice(0, 10), summary.busyMs),
                shareTable(
                    `${scenario.id}: on the stack (inclusive) by owner`,
                    summary.ownersInclusive.slice(0, 14),
                    summary.busyMs
                ),
                shareTable(`${scenario.id}: hottest functions (self)`, summary.topSelf.slice(0, 10), summary.busyMs)
            );
        }
        return {
            id: "profile",
            title: "7. Profile (server CPU)",
            method:
                `A fresh server child per scenario (log level ${ctx.logLevel}); after its subscribers are connected and ` +
                `0.5 s of warm-up load, the child's V8 CPU profiler (the one \`node --cpu-prof\` uses, started and ` +
                `stopped over IPC) records ${durationMs / 1000} s of load. "Self" is time in the ` +
                `function itself; "on the stack" counts a sample once for every package or source file of ours that ` +
                `has a frame on its stack (work done after an await, e.g. in an HTTP response callback, is not under ` +
                `the caller). Shares are of the busy (non-idle) time of the server process; on a loaded machine the ` +
                `sampler also counts time the process was runnable but descheduled, which inflates native frames ` +
                `such as \`writev\`.`,
            tables,
            targets: [],
            notes,
            // The shares are in the tables above.
            raw: results.map(result => ({
                scenario: result.scenario,
                requests: result.requests,
                perSecond: result.perSecond,
                busyMs: result.summary.busyMs,
                totalMs: result.summary.totalMs
            }))
        };
    }
};
