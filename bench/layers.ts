/**
 * 8. The notify request chain, layer by layer: server CPU per `POST` with 16 in flight for each step of
 * lib/layers-child.ts (a minimal Express 5 endpoint, then the product's layers added one at a time), and the
 * server as built, all in one child process. Rounds rotate the order of the steps; the median round counts.
 */
import { LAYER_NAMES } from "./lib/layer-names";
import { HttpClient, runLoad } from "./lib/http";
import { BENCH_API_KEY, type ChildHandle, startLayersProcess } from "./lib/processes";
import type { BenchContext, Measurement, Section } from "./lib/report";
import { count, median } from "./lib/stats";

const IN_FLIGHT = 16;
const BEARER = { Authorization: `Bearer ${BENCH_API_KEY}` };
const AS_BUILT = "the server as built: createApp, POST /rest/pusher/notify";

export interface LayerStep {
    name: string;
    /** Server CPU per request (µs), one per round. */
    cpuMicros: number[];
    /** Requests per second, one per round. */
    perSecond: number[];
}

function notification(index: number) {
    return {
        entity: "Bench.Layer",
        guid: String(index % 1000),
        action: "changed",
        sender: "bench",
        data: String(index)
    };
}

async function measureStep(
    child: ChildHandle,
    http: HttpClient,
    path: string,
    durationMs: number
): Promise<{ cpuMicros: number; perSecond: number }> {
    const task = async (call: number): Promise<boolean> =>
        (await http.postJson(path, notification(call), BEARER)).status === 200;
    await runLoad({ concurrency: IN_FLIGHT, durationMs: durationMs / 4, maxRequests: 100_000, task });
    const before = await child.stats();
    const load = await runLoad({ concurrency: IN_FLIGHT, durationMs, maxRequests: 1_000_000, task });
    const after = await child.stats();
    if (load.failed > 0) {
        throw new Error(`${load.failed} requests to ${path} failed`);
    }
    return { cpuMicros: (after.cpuMicros - before.cpuMicros) / Math.max(1, load.ok), perSecond: load.perSecond };
}

export const layers: Measurement = {
    id: "layers",
    async run(ctx: BenchContext): Promise<Section> {
        const rounds = ctx.quick ? 1 : 5;
        const durationMs = ctx.quick ? 400 : 1_200;
        const child = await startLayersProcess({ logLevel: ctx.logLevel });
        const [layersUrl, builtUrl] = child.url.split("|");
        const paths = [...LAYER_NAMES.map((_name, step) => `/layers/${step}`), "/rest/pusher/notify"];
        const steps: LayerStep[] = [...LAYER_NAMES, AS_BUILT].map(name => ({ name, cpuMicros: [], perSecond: [] }));
        const clients = [new HttpClient(layersUrl, IN_FLIGHT), new HttpClient(builtUrl, IN_FLIGHT)];
        try {
            for (let round = 0; round < rounds; round++) {
                ctx.log(`layers: round ${round + 1} of ${rounds}`);
                const order = paths.map((_path, index) => (index + round * 3) % paths.length);
                for (const index of order) {
                    const http = index < LAYER_NAMES.length ? clients[0] : clients[1];
                    const result = await measureStep(child, http, paths[index], durationMs);
                    steps[index].cpuMicros.push(result.cpuMicros);
                    steps[index].perSecond.push(result.perSecond);
                }
            }
        } finally {
            clients.forEach(http => http.close());
            await child.close();
        }
        const cpu = steps.map(step => median(step.cpuMicros));
        const rate = steps.map(step => median(step.perSecond));
        return {
            id: "layers",
            title: "8. The notify request chain, layer by layer",
            method:
                `One child process serves \`POST /layers/<n>\`: step 0 is a minimal Express 5 endpoint ` +
                `(\`express.json()\` + \`res.json()\`), each further step adds one layer of the companion server's ` +
                `notify chain, built from the product's own modules (bench/lib/layers-child.ts); the last row is the ` +
                `server as built (\`createApp\`, log level ${ctx.logLevel}) in the same process. ${IN_FLIGHT} requests ` +
                `in flight for ${durationMs / 1000} s per step after a warm-up, ${rounds} round(s) rotating the order; ` +
                `medians. Server CPU is the child's user+system time per request; a layer's cost is the difference ` +
                `to the step before (noisy on a shared machine: a few µs either way are within the noise).`,
            tables: [
                {
                    head: ["step", "server CPU µs per request", "added by this step µs", "requests/s"],
                    rows: steps.map((step, index) => [
                        step.name,
                        cpu[index].toFixed(0),
                        index === 0 ? "-" : (cpu[index] - cpu[index - 1]).toFixed(0),
                        count(rate[index])
                    ])
                }
            ],
            targets: [],
            notes: [
                `The as-built row differs from the last step by what the app adds around the route: the router ` +
                    `levels (\`/rest/pusher\` CORS, the notify router) and the answer headers.`
            ],
            raw: steps
        };
    }
};
