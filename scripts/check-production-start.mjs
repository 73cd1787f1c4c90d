// @ts-check
/**
 * CI's proof of the production start (.ci/run): in a clean copy of the repository plus dist/, after
 * `npm ci --omit=dev`, `NODE_ENV=production npm run start:prod` must serve /healthz and GET /rest/pusher/key,
 * then stop on SIGTERM. Usage: node scripts/check-production-start.mjs <copy>
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";

const dir = process.argv[2];
if (!dir) {
    console.error("usage: node scripts/check-production-start.mjs <directory of the production copy>");
    process.exit(2);
}

/** A free loopback port. @returns {Promise<number>} */
function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
        });
    });
}

const port = await freePort();
/** Turns on /metrics and the console, whose page script and stylesheet are files of the repository, not of dist/. */
const METRICS_TOKEN = "ci-production-check-metrics-0123456789abcdef";
const started = Date.now();
const child = spawn("npm", ["run", "start:prod", "--silent"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "inherit"],
    // Its own process group: SIGTERM goes to npm and to the server it started, as a process manager sends it.
    detached: true,
    env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: String(port),
        NOTIFY_API_KEY: "ci-production-check-0123456789abcdefghij",
        MENDIX_APP_URL: "http://127.0.0.1:9",
        METRICS_TOKEN: METRICS_TOKEN,
        LOG_FORMAT: "json"
    }
});
/** @type {string[]} */
const messages = [];
child.stdout?.on("data", chunk => {
    process.stdout.write(chunk);
    for (const line of String(chunk).split("\n").filter(Boolean)) {
        messages.push(JSON.parse(line).msg);
    }
});
// Ends when every process writing to the pipe (npm and the server it started) has exited.
const exited = new Promise(resolve => child.stdout?.on("close", resolve));
const base = `http://127.0.0.1:${port}`;

/** @param {string} path */
async function get(path) {
    const response = await fetch(base + path, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, body: await response.json() };
}

let failure;
try {
    let health;
    for (let attempt = 0; attempt < 100 && health === undefined; attempt++) {
        health = await get("/healthz").catch(() => undefined);
        if (health === undefined) {
            await new Promise(resolve => setTimeout(resolve, 100));
        }
    }
    const ready = Date.now() - started;
    if (health?.status !== 200) {
        throw new Error(`/healthz did not answer 200 within 10 s (got ${JSON.stringify(health)})`);
    }
    const key = await get("/rest/pusher/key");
    if (key.status !== 200 || typeof key.body.key !== "string" || "secret" in key.body) {
        throw new Error(`GET /rest/pusher/key answered ${key.status} ${JSON.stringify(key.body)}`);
    }
    console.log(`production start: /healthz 200 after ${ready} ms; /rest/pusher/key 200 ${JSON.stringify(key.body)}`);
    const metricsAuth = { Authorization: `Bearer ${METRICS_TOKEN}` };
    for (const [path, type] of [
        ["/metrics", "text/plain"],
        ["/console", "text/html"],
        ["/console/console.js", "text/javascript"],
        ["/console/console.css", "text/css"]
    ]) {
        const response = await fetch(base + path, { headers: metricsAuth, signal: AbortSignal.timeout(2_000) });
        const text = await response.text();
        if (response.status !== 200 || !(response.headers.get("content-type") ?? "").startsWith(type) || text === "") {
            throw new Error(`GET ${path} with METRICS_TOKEN answered ${response.status} ${text.slice(0, 200)}`);
        }
    }
    console.log("production start: /metrics and the console (page, script, stylesheet) 200 with METRICS_TOKEN");
} catch (error) {
    failure = error;
} finally {
    if (child.pid !== undefined) {
        process.kill(-child.pid, "SIGTERM");
    }
}
// npm ends by the signal itself; the server's own last word after a graceful shutdown is "stopped".
await exited;
if (failure) {
    console.error(`production start check FAILED: ${failure instanceof Error ? failure.message : failure}`);
    process.exit(1);
}
if (!messages.includes("stopped")) {
    console.error(`production start check FAILED: the server did not log "stopped" after SIGTERM`);
    process.exit(1);
}
console.log("production start check passed: stopped cleanly on SIGTERM");
