/**
 * 5. Auth cost: `POST /rest/pusher/auth` requests per second. Browser path: form body with `Cookie`
 * and `X-Csrf-Token`, forwarded to a fake Mendix access check (its own child process) that answers
 * 200 `{ "user" }` at once. Relay path for comparison: `Authorization: Bearer <NOTIFY_API_KEY>`, no
 * access check.
 */
import { HttpClient, runLoad } from "./lib/http";
import { BENCH_API_KEY, type ChildHandle, startAccessProcess, startServerProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section } from "./lib/report";
import { count, ms, summarize } from "./lib/stats";

const CONCURRENCY = 16;

export interface AuthRun {
    path: "browser" | "relay";
    requests: number;
    failed: number;
    perSecond: number;
    latencyP50: number;
    latencyP99: number;
    serverCpuMicrosPerRequest: number;
    accessCpuMicrosPerRequest: number;
}

async function measure(
    server: ChildHandle,
    access: ChildHandle,
    path: AuthRun["path"],
    durationMs: number
): Promise<AuthRun> {
    const http = new HttpClient(server.url, CONCURRENCY);
    const headers: Record<string, string> =
        path === "browser"
            ? { Cookie: "XASSESSIONID=bench-session", "X-Csrf-Token": "bench-csrf-token" }
            : { Authorization: `Bearer ${BENCH_API_KEY}` };
    const task = async (index: number): Promise<boolean> => {
        const answer = await http.postForm(
            "/rest/pusher/auth",
            { socket_id: `${1000 + (index % 9000)}.${index}`, channel_name: `private-Bench.Auth.${index % 1000}` },
            headers
        );
        return answer.status === 200 && answer.body.startsWith('{"auth":"');
    };
    try {
        await runLoad({
            concurrency: CONCURRENCY,
            durationMs: Math.min(1_000, durationMs / 3),
            maxRequests: 100_000,
            task
        });
        const [serverBefore, accessBefore] = await Promise.all([server.stats(), access.stats()]);
        const load = await runLoad({ concurrency: CONCURRENCY, durationMs, maxRequests: 1_000_000, task });
        const [serverAfter, accessAfter] = await Promise.all([server.stats(), access.stats()]);
        const latencies = summarize(load.latencies);
        return {
            path,
            requests: load.requests,
            failed: load.failed,
            perSecond: load.perSecond,
            latencyP50: latencies.p50,
            latencyP99: latencies.p99,
            serverCpuMicrosPerRequest: (serverAfter.cpuMicros - serverBefore.cpuMicros) / Math.max(1, load.ok),
            accessCpuMicrosPerRequest: (accessAfter.cpuMicros - accessBefore.cpuMicros) / Math.max(1, load.ok)
        };
    } finally {
        http.close();
    }
}

export const auth: Measurement = {
    id: "auth",
    async run(ctx: BenchContext): Promise<Section> {
        const durationMs = ctx.quick ? 1_000 : 5_000;
        const access = await startAccessProcess();
        const server = await startServerProcess({ logLevel: ctx.logLevel, env: { MENDIX_APP_URL: access.url } });
        const runs: AuthRun[] = [];
        try {
            ctx.log("auth: browser path");
            runs.push(await measure(server, access, "browser", durationMs));
            ctx.log("auth: relay path");
            runs.push(await measure(server, access, "relay", durationMs));
        } finally {
            await Promise.all([server.close(), access.close()]);
        }
        return {
            id: "auth",
            title: "5. Auth cost",
            method:
                `Closed-loop load for ${durationMs / 1000} s after a warm-up, ${CONCURRENCY} requests in flight, ` +
                `\`POST /rest/pusher/auth\` (form body, 1,000 different private channels). Browser path: \`Cookie\` and ` +
                `\`X-Csrf-Token\` forwarded to a fake Mendix access check in its own child process that answers 200 ` +
                `\`{ "user" }\` at once. Relay path: Bearer API key, no access check. Every answer is checked to be 200 ` +
                `with an \`auth\` signature. Server log level ${ctx.logLevel}.`,
            tables: [
                {
                    head: [
                        "caller",
                        "requests/s",
                        "p50 ms",
                        "p99 ms",
                        "server CPU µs/request",
                        "access check CPU µs/request"
                    ],
                    rows: runs.map(run => [
                        run.path === "browser" ? "browser (access check)" : "Mendix relay (Bearer)",
                        count(run.perSecond),
                        ms(run.latencyP50),
                        ms(run.latencyP99),
                        count(run.serverCpuMicrosPerRequest),
                        run.path === "browser" ? count(run.accessCpuMicrosPerRequest) : "-"
                    ])
                }
            ],
            targets: [],
            notes: runs.filter(run => run.failed > 0).map(run => `${run.path}: ${run.failed} requests failed`),
            raw: runs
        };
    }
};
