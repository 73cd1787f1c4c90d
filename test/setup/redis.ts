/**
 * A real `redis-server` for the scale-out tests and benchmarks: started on a free loopback port without persistence
 * (`--save '' --appendonly no`), stopped afterwards; `restart()` stops it and starts it again on the same port
 * (so its data is gone, like a Redis that lost its state).
 *
 * Without `redis-server` on the PATH: locally the tests skip with a loud message; under `CI=true` they fail
 * (`.ci/run` installs Debian's redis-server when it is missing).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export interface RedisProcess {
    /** `redis://127.0.0.1:<port>` */
    readonly url: string;
    readonly port: number;
    /** Stops the server (SIGTERM, then SIGKILL); idempotent. */
    stop(): Promise<void>;
    /** Starts it again on the same port (after `stop`), with no data. */
    start(): Promise<void>;
}

/** Whether `redis-server` can run here; under CI=true its absence is an error. */
export function redisAvailable(suite: string): boolean {
    const found = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).status === 0;
    if (!found) {
        const message = `redis-server is not installed: ${suite} needs a real Redis (apt-get install redis-server; .ci/run installs it).`;
        if (process.env.CI === "true") {
            throw new Error(`${message} CI=true: failing instead of skipping.`);
        }
        console.warn(`\n${"!".repeat(100)}\n!! SKIPPED: ${message}\n${"!".repeat(100)}\n`);
    }
    return found;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
        });
    });
}

const READY = "Ready to accept connections";
const START_TIMEOUT_MS = 10_000;

function launch(port: number): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
        const child = spawn(
            "redis-server",
            [
                "--port",
                String(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes"
            ],
            { stdio: ["ignore", "pipe", "pipe"] }
        );
        let output = "";
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`redis-server did not start on port ${port} within ${START_TIMEOUT_MS} ms:\n${output}`));
        }, START_TIMEOUT_MS);
        const onData = (chunk: Buffer): void => {
            output += chunk.toString("utf8");
            if (output.includes(READY)) {
                clearTimeout(timer);
                child.stdout?.off("data", onData);
                resolve(child);
            }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", (chunk: Buffer) => {
            output += chunk.toString("utf8");
        });
        child.once("exit", code => {
            clearTimeout(timer);
            reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
        });
    });
}

function stopChild(child: ChildProcess): Promise<void> {
    return new Promise(resolve => {
        if (child.exitCode !== null || child.signalCode !== null) {
            resolve();
            return;
        }
        const force = setTimeout(() => child.kill("SIGKILL"), 3_000);
        child.once("exit", () => {
            clearTimeout(force);
            resolve();
        });
        child.kill("SIGTERM");
    });
}

/** Starts `redis-server` on a free loopback port. */
export async function startRedis(): Promise<RedisProcess> {
    const port = await freePort();
    let child: ChildProcess | undefined = await launch(port);
    return {
        url: `redis://127.0.0.1:${port}`,
        port,
        async stop() {
            if (child !== undefined) {
                const stopping = child;
                child = undefined;
                await stopChild(stopping);
            }
        },
        async start() {
            if (child === undefined) {
                child = await launch(port);
            }
        }
    };
}
