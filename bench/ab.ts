/**
 * `npx tsx bench/ab.ts <other tree> [single|batch] [rounds]` — the server CPU per notification of another checkout
 * (A, e.g. `git worktree add ../base <rev>` with its own `npm ci`) against this one (B), measured side by side:
 * both companion servers run as bench children at once and are loaded in turn, the order alternating every round,
 * for `rounds` (default 8) rounds of 2 s (`single`: `/rest/pusher/notify`, 16 in flight; `batch`: `/notify/batch`
 * with 100 notifications, 4 in flight; no subscribers). It prints the median CPU per notification of each side and
 * their ratio: how much one change buys, when a full `npm run bench` cannot tell it from the noise of the machine.
 */
import path from "node:path";
import { HttpClient, runLoad } from "./lib/http";
import * as here from "./lib/processes";
import { median } from "./lib/stats";

type Processes = typeof here;
const ROUND_MS = 2_000;

async function main(): Promise<void> {
    const [tree, mode = "single", rounds = "8"] = process.argv.slice(2);
    if (tree === undefined || (mode !== "single" && mode !== "batch") || !(Number(rounds) > 0)) {
        console.error("usage: npx tsx bench/ab.ts <other tree> [single|batch] [rounds]");
        process.exit(2);
    }
    const other = (await import(path.resolve(tree, "bench/lib/processes.ts"))) as Processes;
    const bearer = { Authorization: `Bearer ${here.BENCH_API_KEY}` };
    const inFlight = mode === "single" ? 16 : 4;
    const perCall = mode === "single" ? 1 : 100;
    const notification = (n: number) => ({
        entity: "Bench.Item",
        guid: String(n % 1000),
        action: "changed",
        sender: "bench",
        data: String(n)
    });
    const sides = [
        { name: "A (other tree)", child: await other.startServerProcess({}), cpu: [] as number[] },
        { name: "B (this tree)", child: await here.startServerProcess({}), cpu: [] as number[] }
    ];
    try {
        const load = async (url: string, durationMs: number): Promise<number> => {
            const http = new HttpClient(url, inFlight);
            try {
                const result = await runLoad({
                    concurrency: inFlight,
                    durationMs,
                    maxRequests: 1_000_000,
                    task: async call =>
                        (mode === "single"
                            ? await http.postJson("/rest/pusher/notify", notification(call), bearer)
                            : await http.postJson(
                                  "/rest/pusher/notify/batch",
                                  {
                                      notifications: Array.from({ length: 100 }, (_x, i) =>
                                          notification(call * 100 + i)
                                      )
                                  },
                                  bearer
                              )
                        ).status === 200
                });
                if (result.failed > 0) {
                    throw new Error(`${result.failed} requests failed`);
                }
                return result.ok;
            } finally {
                http.close();
            }
        };
        for (const side of sides) {
            await load(side.child.url, ROUND_MS / 2);
        }
        for (let round = 0; round < Number(rounds); round++) {
            for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
                const before = await side.child.stats();
                const requests = await load(side.child.url, ROUND_MS);
                const after = await side.child.stats();
                side.cpu.push((after.cpuMicros - before.cpuMicros) / (requests * perCall));
            }
        }
        const [a, b] = sides.map(side => median(side.cpu));
        for (const side of sides) {
            console.log(
                `${side.name}: median ${median(side.cpu).toFixed(1)} µs per notification; rounds ${side.cpu.map(v => v.toFixed(0)).join(" ")}`
            );
        }
        console.log(`${mode}: B / A = ${(b! / a!).toFixed(3)}`);
    } finally {
        await Promise.all(sides.map(side => side.child.close()));
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
