/**
 * Launches the bench's child processes (companion server, bare `ws` baseline, fake Mendix access
 * check) as plain `node` processes, so that each one's RSS and CPU time are its own. The TypeScript
 * sources (server/, protocol/, bench/lib/) are transpiled file by file with esbuild into
 * `node_modules/.cache/notifylisten-bench/` first (same tree, so packages resolve from the repo's
 * node_modules): no loader hooks thread in the children (tsx would add ~40 MB RSS), and CPU profiles
 * keep one file per source file. Each child runs through `sh -c 'ulimit -n <hard limit>; exec node ...'`
 * so it may hold thousands of sockets.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import type { ChildMessage, ParentMessage, ProcessStats } from "./ipc";

export const REPO_ROOT = path.join(import.meta.dirname, "..", "..");
/** Where the transpiled children live (inside node_modules: ignored by git, packages resolve). */
export const COMPILED_ROOT = path.join(REPO_ROOT, "node_modules", ".cache", "notifylisten-bench");
/** Source folders the children need. */
const COMPILED_FOLDERS = ["server", "protocol", "bench/lib"];

export const BENCH_API_KEY = "bench-notify-api-key-0123456789abcdef0123";

const START_TIMEOUT_MS = 20_000;
const STATS_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 8_000;

export interface ChildHandle {
    name: string;
    /** Base URL, `http://127.0.0.1:<port>`. */
    url: string;
    pid: number;
    /** RSS, heap and CPU time of the child (after two forced GCs with `gc: true`). */
    stats(gc?: boolean): Promise<ProcessStats>;
    /** Starts the child's V8 CPU profiler (what `node --cpu-prof` uses), for a precise window. */
    startProfile(): Promise<void>;
    /** Stops it and writes the `.cpuprofile` JSON to `file`. */
    stopProfile(file: string): Promise<void>;
    /** Asks the child to close gracefully, kills it after a deadline. */
    close(): Promise<void>;
}

export interface LaunchOptions {
    /** Extra environment variables. */
    env?: Record<string, string>;
}

function sourcesOf(folder: string): string[] {
    return readdirSync(path.join(REPO_ROOT, folder), { recursive: true, encoding: "utf8" })
        .filter(file => file.endsWith(".ts") && !file.endsWith(".d.ts") && !file.includes("__tests__"))
        .map(file => path.join(REPO_ROOT, folder, file));
}

let compiled: Promise<void> | undefined;

/** Transpiles the children's sources once per bench run (about a second). */
export function compileChildren(): Promise<void> {
    compiled ??= build({
        entryPoints: COMPILED_FOLDERS.flatMap(sourcesOf),
        outdir: COMPILED_ROOT,
        outbase: REPO_ROOT,
        bundle: false,
        platform: "node",
        format: "cjs",
        target: "node20",
        sourcemap: false,
        logLevel: "error"
    }).then(() =>
        // The repository is ESM ("type": "module"); these transpiled children are CommonJS.
        writeFileSync(path.join(COMPILED_ROOT, "package.json"), JSON.stringify({ type: "commonjs" }) + "\n")
    );
    return compiled;
}

/** Maps a compiled file path (in a CPU profile) back to its source path relative to the repo. */
export function sourcePathOf(file: string): string {
    const relative = path.relative(COMPILED_ROOT, file.replace(/^file:\/\//, ""));
    return relative.startsWith("..")
        ? path.relative(REPO_ROOT, file.replace(/^file:\/\//, ""))
        : relative.replace(/\.js$/, ".ts");
}

async function launch(name: string, script: string, options: LaunchOptions = {}): Promise<ChildHandle> {
    await compileChildren();
    const execArgv = ["--expose-gc"];
    const entry = path.join(COMPILED_ROOT, "bench", "lib", script.replace(/\.ts$/, ".js"));
    const child: ChildProcess = spawn(
        "sh",
        ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...execArgv, entry],
        {
            cwd: REPO_ROOT,
            env: { ...process.env, ...options.env },
            stdio: ["ignore", "ignore", "inherit", "ipc"]
        }
    );
    const pending = new Map<number, (stats: ProcessStats) => void>();
    const pendingProfile = new Map<number, (error?: string) => void>();
    let nextId = 1;
    let exited = false;
    const exit = new Promise<void>(resolve => child.once("exit", () => resolve()));
    void exit.then(() => {
        exited = true;
    });

    return new Promise<ChildHandle>((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`${name} child did not start within ${START_TIMEOUT_MS} ms`));
        }, START_TIMEOUT_MS);
        child.once("exit", code => {
            clearTimeout(timer);
            reject(new Error(`${name} child exited during start (code ${code})`));
        });
        child.on("message", (message: ChildMessage) => {
            if (message.type === "stats") {
                const { type: _type, id, ...stats } = message;
                pending.get(id)?.(stats);
                pending.delete(id);
                return;
            }
            if (message.type === "profile") {
                pendingProfile.get(message.id)?.(message.error);
                pendingProfile.delete(message.id);
                return;
            }
            clearTimeout(timer);
            const send = (request: ParentMessage): void => {
                if (!exited && child.connected) {
                    child.send(request);
                }
            };
            let closing: Promise<void> | undefined;
            const profileRequest = (file?: string): Promise<void> =>
                new Promise((resolveProfile, rejectProfile) => {
                    const id = nextId++;
                    const profileTimer = setTimeout(() => {
                        pendingProfile.delete(id);
                        rejectProfile(new Error(`${name} child did not answer profile within ${STATS_TIMEOUT_MS} ms`));
                    }, STATS_TIMEOUT_MS);
                    pendingProfile.set(id, error => {
                        clearTimeout(profileTimer);
                        if (error === undefined) {
                            resolveProfile();
                        } else {
                            rejectProfile(new Error(`${name} child profiler: ${error}`));
                        }
                    });
                    send({ type: "profile", id, file });
                });
            resolve({
                name,
                url: message.url,
                pid: message.pid,
                stats: (gc = false) =>
                    new Promise((resolveStats, rejectStats) => {
                        const id = nextId++;
                        const statsTimer = setTimeout(() => {
                            pending.delete(id);
                            rejectStats(new Error(`${name} child did not answer stats within ${STATS_TIMEOUT_MS} ms`));
                        }, STATS_TIMEOUT_MS);
                        pending.set(id, stats => {
                            clearTimeout(statsTimer);
                            resolveStats(stats);
                        });
                        send({ type: "stats", id, gc });
                    }),
                startProfile: () => profileRequest(),
                stopProfile: file => profileRequest(file),
                close: () => {
                    closing ??= (async () => {
                        send({ type: "close" });
                        const killer = setTimeout(() => child.kill("SIGKILL"), CLOSE_TIMEOUT_MS);
                        await exit;
                        clearTimeout(killer);
                    })();
                    return closing;
                }
            });
        });
    });
}

/**
 * `as-built`: the companion server as it ships. `sdk-loopback`: the previous embedded path (see
 * server-child.ts), notify triggering through the pusher SDK and the broker's HTTP API over loopback.
 */
export type ServerVariant = "as-built" | "sdk-loopback";

/** The companion server with the bench's settings (API key, rate limits out of the way, no playground). */
export function startServerProcess(
    options: LaunchOptions & { logLevel?: string; variant?: ServerVariant } = {}
): Promise<ChildHandle> {
    const variant = options.variant ?? "as-built";
    return launch(variant === "as-built" ? "server" : `server-${variant}`, "server-child.ts", {
        ...options,
        env: { BENCH_VARIANT: variant, ...serverEnv(options.logLevel), ...options.env }
    });
}

/** The companion server's bench settings (API key, rate limits out of the way, no playground). */
function serverEnv(logLevel = "info"): Record<string, string> {
    return {
        NODE_ENV: "",
        NOTIFY_API_KEY: BENCH_API_KEY,
        PLAYGROUND: "false",
        LOG_LEVEL: logLevel,
        RATE_LIMIT_AUTH: "1000000",
        RATE_LIMIT_AUTH_ADDRESS: "10000000",
        // Thousands of sockets from one loopback address stand for thousands of browsers.
        BROKER_MAX_CONNECTIONS_PER_ADDRESS: "1000000",
        RATE_LIMIT_NOTIFY: "1000000"
    };
}

/**
 * The notify chain layer by layer (lib/layers-child.ts) with the companion server's bench settings; its `url` is
 * `<layers url>|<as-built server url>`.
 */
export function startLayersProcess(options: { logLevel?: string } = {}): Promise<ChildHandle> {
    return launch("layers", "layers-child.ts", { env: serverEnv(options.logLevel) });
}

/** The bare `ws` broadcast server (the physical floor). */
export function startBaselineProcess(options: LaunchOptions = {}): Promise<ChildHandle> {
    return launch("baseline", "baseline-child.ts", options);
}

/** The minimal Express 5 notify endpoint (`express.json()` + `res.json()`), the framework floor. */
export function startExpressProcess(options: LaunchOptions = {}): Promise<ChildHandle> {
    return launch("express", "express-child.ts", options);
}

/**
 * A driver child holding `count` idle subscribers of `url` (lib/subscribers-child.ts): raw Pusher sockets on the
 * companion server, or bare sockets on the baseline. Socket i is on `private-Bench.Idle.<from + i>`.
 */
export function startSubscribersProcess(options: {
    url: string;
    kind: "pusher" | "bare";
    from: number;
    count: number;
}): Promise<ChildHandle> {
    return launch(`subscribers ${options.from}..${options.from + options.count - 1}`, "subscribers-child.ts", {
        env: {
            SUBSCRIBERS_URL: options.url,
            SUBSCRIBERS_KIND: options.kind,
            SUBSCRIBERS_API_KEY: BENCH_API_KEY,
            SUBSCRIBERS_FROM: String(options.from),
            SUBSCRIBERS_COUNT: String(options.count)
        }
    });
}

/** The fake Mendix access check answering 200 `{ "user" }` at once. */
export function startAccessProcess(options: LaunchOptions = {}): Promise<ChildHandle> {
    return launch("access", "access-child.ts", options);
}
