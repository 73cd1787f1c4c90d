/**
 * `npm run bench` — latency, fan-out, notify API, connections/memory, auth and widget weight of
 * Notify & Listen on this machine, each compared side by side with a baseline where one exists.
 *
 *   npm run bench                      full run (< 10 min), writes bench/RESULTS.md
 *   npm run bench -- --quick           smoke run (< 60 s), prints only
 *   npm run bench -- --only=latency,memory
 *   npm run bench -- --out=/tmp/r.md   write the results file elsewhere (also with --quick/--only)
 *   npm run bench -- --log-level=silent   server log level (default info, the production default)
 *
 * Measurements: latency, fanout, notify, layers, memory, auth, widget, profile, storm (`--only=storm --quick`: 500
 * clients), scale (1 instance against 2 over a real redis-server, and Redis away for 10 s).
 */
import path from "node:path";
import { auth } from "./auth";
import { fanout } from "./fanout";
import { latency } from "./latency";
import { layers } from "./layers";
import { loadAverages, machineFacts } from "./lib/machine";
import { compileChildren } from "./lib/processes";
import { type BenchContext, type Measurement, type Section, sectionText, writeResults } from "./lib/report";
import { memory } from "./memory";
import { notify } from "./notify";
import { profile } from "./profile";
import { scale } from "./scale";
import { storm } from "./storm";
import { widget } from "./widget";

const MEASUREMENTS: Measurement[] = [latency, fanout, notify, layers, memory, auth, widget, profile, storm, scale];
/** Whole-run ceilings; each measurement also bounds its own loops. */
const RUN_DEADLINE_MS = { quick: 90_000, full: 15 * 60_000 };

interface Args {
    quick: boolean;
    only: string[] | undefined;
    out: string | undefined;
    logLevel: string;
}

function parseArgs(argv: string[]): Args {
    const args: Args = { quick: false, only: undefined, out: undefined, logLevel: "info" };
    for (const arg of argv) {
        const [name, value] = arg.includes("=")
            ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
            : [arg, ""];
        switch (name) {
            case "--quick":
                args.quick = true;
                break;
            case "--only":
                args.only = value.split(",").filter(Boolean);
                break;
            case "--out":
                args.out = path.resolve(value);
                break;
            case "--log-level":
                args.logLevel = value;
                break;
            case "--help":
            case "-h":
                console.log("usage: npm run bench -- [--quick] [--only=name,...] [--out=file] [--log-level=level]");
                console.log(`measurements: ${MEASUREMENTS.map(m => m.id).join(", ")}`);
                process.exit(0);
                break;
            default:
                throw new Error(`Unknown argument ${arg}; try --help`);
        }
    }
    const unknown = (args.only ?? []).filter(id => !MEASUREMENTS.some(m => m.id === id));
    if (unknown.length > 0) {
        throw new Error(
            `Unknown measurement(s) ${unknown.join(", ")}; known: ${MEASUREMENTS.map(m => m.id).join(", ")}`
        );
    }
    return args;
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const startedAt = new Date();
    const started = Date.now();
    const deadline = started + (args.quick ? RUN_DEADLINE_MS.quick : RUN_DEADLINE_MS.full);
    const ctx: BenchContext = {
        quick: args.quick,
        logLevel: args.logLevel,
        log: message => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}\n`)
    };
    const machine = machineFacts();
    const loadAtStart = loadAverages();
    ctx.log(
        `${machine.cpuModel}, ${machine.cores} cores, ${machine.memory}, Node ${machine.node}, load ${loadAtStart}`
    );
    await compileChildren();
    const selected = MEASUREMENTS.filter(m => args.only === undefined || args.only.includes(m.id));
    const sections: Section[] = [];
    const failures: Array<{ id: string; error: string }> = [];
    for (const measurement of selected) {
        if (Date.now() > deadline) {
            failures.push({ id: measurement.id, error: "skipped: the run's deadline passed" });
            continue;
        }
        ctx.log(`${measurement.id}: start`);
        const t0 = Date.now();
        try {
            const section = await measurement.run(ctx);
            sections.push(section);
            console.log(`\n${sectionText(section)}`);
            ctx.log(`${measurement.id}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        } catch (error) {
            const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
            failures.push({ id: measurement.id, error: message.split("\n")[0] });
            ctx.log(`${measurement.id}: FAILED ${message}`);
        }
    }
    const durationMs = Date.now() - started;
    const targets = sections.flatMap(section => section.targets);
    console.log("\n## Targets\n");
    for (const target of targets) {
        console.log(`${target.met ? "met    " : "NOT MET"}  ${target.what}: ${target.value} (goal ${target.goal})`);
    }
    const out =
        args.out ?? (args.quick || args.only !== undefined ? undefined : path.join(import.meta.dirname, "RESULTS.md"));
    if (out !== undefined) {
        const flags = process.argv.slice(2).join(" ");
        writeResults({
            file: out,
            machine,
            command: `npm run bench${flags ? ` -- ${flags}` : ""}`,
            startedAt,
            durationMs,
            sections,
            failures,
            loadAtStart,
            loadAtEnd: loadAverages()
        });
        ctx.log(`wrote ${path.relative(process.cwd(), out)}`);
    }
    ctx.log(`finished in ${(durationMs / 1000).toFixed(1)} s`);
    if (failures.length > 0) {
        process.exitCode = 1;
    }
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
