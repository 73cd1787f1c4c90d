/**
 * Harness of the reliability and security suite: the real app on 127.0.0.1:0 with every log line captured,
 * a fetch wrapper that records every response (for the no-secret-leak checks), a fake Mendix access check
 * with sessions and fault modes (down, slow, garbage), a fake Pusher HTTP API with fault modes (5xx, hang)
 * for PUSHER_HOST mode, and small bounded helpers (concurrency pool, waiting, JSON error checks).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import fc from "fast-check";
import PusherClient from "pusher-js";
import { createApp, type AppOptions, type RunningApp } from "../../server/app";
import { verifyApiRequest } from "../../server/broker/signature";
import { loadConfig, type Config } from "../../server/config";
import { ERROR_STATUS } from "../../server/errors";
import { createLogger } from "../../server/logger";

/** Secrets of every server started by this suite; none may ever appear in a response or a log line. */
export const API_KEY = `rel-api-key-${randomBytes(16).toString("hex")}`;
export const BROKER = {
    appId: "424242",
    key: `relkey${randomBytes(6).toString("hex")}`,
    secret: `rel-broker-secret-${randomBytes(16).toString("hex")}`
};
export const PUSHER = {
    appId: "535353",
    key: `pushkey${randomBytes(6).toString("hex")}`,
    secret: `rel-pusher-secret-${randomBytes(16).toString("hex")}`
};
export const SECRETS: Record<string, string> = {
    NOTIFY_API_KEY: API_KEY,
    BROKER_SECRET: BROKER.secret,
    PUSHER_SECRET: PUSHER.secret
};
export const BEARER = { Authorization: `Bearer ${API_KEY}` };

/** The session the fake Mendix runtime accepts (cookie + CSRF token), and a topic prefix it forbids. */
export const GOOD_COOKIE = "XASSESSIONID=good-session; Path=/";
export const GOOD_CSRF = "csrf-good-token";
export const FORBIDDEN_PREFIX = "Secret.";

/** Base environment of the servers under test (tests add to it). */
export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
        NOTIFY_API_KEY: API_KEY,
        PLAYGROUND: "false",
        LOG_LEVEL: "debug",
        BROKER_APP_ID: BROKER.appId,
        BROKER_KEY: BROKER.key,
        BROKER_SECRET: BROKER.secret,
        ...extra
    };
}

// --- recording of everything seen ------------------------------------------------------------------

export interface SeenResponse {
    url: string;
    status: number;
    headers: string;
    body: string;
}

/** Every response and log line seen by a test file (checked for secrets at the end). */
export class Evidence {
    readonly responses: SeenResponse[] = [];
    readonly logs: string[] = [];
    /** Extra text seen elsewhere (WebSocket frames, child process output). */
    readonly other: string[] = [];

    /** Returns `{ where, secret }` for each secret found anywhere. */
    leaks(secrets: Record<string, string> = SECRETS): Array<{ where: string; secret: string }> {
        const found: Array<{ where: string; secret: string }> = [];
        const scan = (where: string, text: string) => {
            for (const [name, value] of Object.entries(secrets)) {
                if (text.includes(value)) {
                    found.push({ where: `${where}: ${text.slice(0, 300)}`, secret: name });
                }
            }
        };
        this.responses.forEach(r => scan(`response ${r.status} ${r.url}`, `${r.headers}\n${r.body}`));
        this.logs.forEach(line => scan("log", line));
        this.other.forEach(text => scan("other", text));
        return found;
    }
}

export interface Answer {
    status: number;
    headers: Headers;
    text: string;
    /** Parsed JSON body, or undefined when the body is not JSON. */
    json: unknown;
    contentType: string;
}

/** fetch (keep-alive, undici) that records the response in `evidence`. */
export async function request(evidence: Evidence, url: string, init: RequestInit = {}): Promise<Answer> {
    const res = await fetch(url, init);
    const text = await res.text();
    evidence.responses.push({
        url,
        status: res.status,
        headers: JSON.stringify([...res.headers.entries()]),
        body: text
    });
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json, contentType: res.headers.get("content-type") ?? "" };
}

export function postJson(
    evidence: Evidence,
    url: string,
    body: unknown,
    headers: Record<string, string> = {}
): Promise<Answer> {
    return request(evidence, url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body)
    });
}

export function postForm(
    evidence: Evidence,
    url: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {}
): Promise<Answer> {
    return request(evidence, url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(fields).toString()
    });
}

/** Asserts (throws) that an answer is the server's JSON error with a known code matching its status. */
export function expectJsonError(answer: Answer, what: string): string {
    const body = answer.json as { error?: { code?: unknown; message?: unknown } } | undefined;
    const code = body?.error?.code;
    if (
        !answer.contentType.startsWith("application/json") ||
        typeof code !== "string" ||
        !(code in ERROR_STATUS) ||
        ERROR_STATUS[code as keyof typeof ERROR_STATUS] !== answer.status ||
        typeof body?.error?.message !== "string" ||
        body.error.message.length === 0
    ) {
        throw new Error(
            `${what}: expected a JSON error matching status ${answer.status}, got ${answer.contentType} ${answer.text.slice(0, 300)}`
        );
    }
    return code;
}

/** HMAC a channel signature must carry: `<key>:<hex HMAC-SHA256(secret, "<socket_id>:<channel>")>`. */
export function expectedAuth(key: string, secret: string, socketId: string, channel: string): string {
    return `${key}:${createHmac("sha256", secret).update(`${socketId}:${channel}`).digest("hex")}`;
}

// --- the app under test ------------------------------------------------------------------------------

export interface AppUnderTest {
    running: RunningApp;
    config: Config;
    url: string;
    port: number;
    evidence: Evidence;
    close(): Promise<void>;
}

/** A sink for pino that appends each line to `lines`. */
export function lineSink(lines: string[]): Writable {
    return new Writable({
        write(chunk: Buffer, _encoding, callback) {
            lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
            callback();
        }
    });
}

/** Starts the real app (createApp) on 127.0.0.1 with `env` on top of `baseEnv()`, logs captured in `evidence`. */
export async function startApp(
    env: NodeJS.ProcessEnv = {},
    options: AppOptions & { port?: number; evidence?: Evidence } = {}
): Promise<AppUnderTest> {
    const { port = 0, evidence = new Evidence(), ...appOptions } = options;
    const config = loadConfig(baseEnv(env));
    const logger = createLogger(config.logLevel, lineSink(evidence.logs));
    const running = await createApp(config, { logger, ...appOptions });
    const url = await running.listen(port, "127.0.0.1");
    return { running, config, url, port: Number(new URL(url).port), evidence, close: () => running.close() };
}

// --- fake Mendix access check -------------------------------------------------------------------------

export type AccessMode = "sessions" | "error" | "garbage" | "slow" | "hang";

export interface FakeMendix {
    url: string;
    port: number;
    mode: AccessMode;
    /** Delay of "slow" answers. */
    slowMs: number;
    /** Access checks received. */
    readonly checks: Array<{ channel?: unknown; topic?: unknown; cookie?: string; csrf?: string }>;
    /** Stops listening (connection refused) without forgetting the port. */
    stop(): Promise<void>;
    /** Listens again on the same port. */
    start(): Promise<void>;
    close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

/**
 * The Mendix access check contract: 200 `{ user }` for the good session + CSRF token unless the topic starts
 * with FORBIDDEN_PREFIX (403), 401 without a session. Fault modes answer 500, HTML, late or never.
 */
export async function startFakeMendix(): Promise<FakeMendix> {
    const state = { mode: "sessions" as AccessMode, slowMs: 0 };
    const checks: FakeMendix["checks"] = [];
    const server = http.createServer(async (req, res) => {
        const text = await readBody(req).catch(() => "");
        if (req.method !== "POST" || req.url !== "/rest/notifylisten/v1/access") {
            res.writeHead(404).end();
            return;
        }
        let body: { channel?: unknown; topic?: unknown } = {};
        try {
            body = JSON.parse(text) as typeof body;
        } catch {
            body = {};
        }
        const cookie = req.headers.cookie;
        const csrf = req.headers["x-csrf-token"] as string | undefined;
        checks.push({ channel: body.channel, topic: body.topic, cookie, csrf });
        switch (state.mode) {
            case "error":
                res.writeHead(500, { "Content-Type": "text/plain" }).end("boom");
                return;
            case "garbage":
                res.writeHead(200, { "Content-Type": "text/html" }).end("<html><body>Sign in</body></html>");
                return;
            case "hang":
                return;
            case "slow":
                await new Promise(resolve => setTimeout(resolve, state.slowMs));
                break;
            case "sessions":
                break;
        }
        if (res.destroyed) {
            return;
        }
        const sessionOk = cookie?.includes("XASSESSIONID=good-session") === true && csrf === GOOD_CSRF;
        if (!sessionOk) {
            res.writeHead(401, { "Content-Type": "application/json" }).end('{"error":"no session"}');
            return;
        }
        if (typeof body.topic !== "string" || body.topic.startsWith(FORBIDDEN_PREFIX)) {
            res.writeHead(403, { "Content-Type": "application/json" }).end('{"error":"forbidden"}');
            return;
        }
        res.writeHead(200, { "Content-Type": "application/json" }).end('{"user":"alice"}');
    });
    let port = 0;
    const listen = () =>
        new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(port, "127.0.0.1", () => {
                server.off("error", reject);
                port = (server.address() as AddressInfo).port;
                resolve();
            });
        });
    const stop = () =>
        new Promise<void>(resolve => {
            if (!server.listening) {
                resolve();
                return;
            }
            server.close(() => resolve());
            server.closeAllConnections();
        });
    await listen();
    return {
        get url() {
            return `http://127.0.0.1:${port}`;
        },
        get port() {
            return port;
        },
        get mode() {
            return state.mode;
        },
        set mode(value: AccessMode) {
            state.mode = value;
        },
        get slowMs() {
            return state.slowMs;
        },
        set slowMs(value: number) {
            state.slowMs = value;
        },
        checks,
        stop,
        start: listen,
        close: stop
    };
}

// --- fake Pusher HTTP API (PUSHER_HOST mode) -----------------------------------------------------------

export interface PusherEvent {
    channel: string;
    name: string;
    data: string;
}

/** What the fake answers to one POST: "ok", an HTTP status (5xx), or "hang" (never answers). */
export type PusherVerdict = "ok" | number | "hang";

export interface FakePusherApi {
    port: number;
    /** Decides the answer to the n-th POST (1-based) with its events; default always "ok". */
    decide: (n: number, events: PusherEvent[]) => PusherVerdict;
    /** Every POST received, in order, with the answer given. */
    readonly posts: Array<{ n: number; path: string; events: PusherEvent[]; verdict: PusherVerdict; at: number }>;
    /** Events of POSTs answered 200: what was really delivered. */
    readonly delivered: PusherEvent[];
    /** POSTs whose signature did not verify with PUSHER_SECRET. */
    readonly badSignatures: number;
    reset(): void;
    close(): Promise<void>;
}

/** A Pusher HTTP API on 127.0.0.1 that checks the SDK's signatures and answers as `decide` says. */
export async function startFakePusherApi(): Promise<FakePusherApi> {
    const posts: FakePusherApi["posts"] = [];
    const delivered: PusherEvent[] = [];
    let badSignatures = 0;
    let count = 0;
    const api = {
        decide: ((): PusherVerdict => "ok") as FakePusherApi["decide"]
    };
    const server = http.createServer(async (req, res) => {
        const raw = await readBody(req).catch(() => "");
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const query = Object.fromEntries(url.searchParams);
        const verdict = verifyApiRequest({
            key: PUSHER.key,
            secret: PUSHER.secret,
            method: req.method ?? "GET",
            path: url.pathname,
            query,
            body: Buffer.from(raw, "utf8")
        });
        if (!verdict.ok) {
            badSignatures++;
            res.writeHead(401, { "Content-Type": "text/plain" }).end(verdict.message);
            return;
        }
        if (req.method === "GET") {
            res.writeHead(200, { "Content-Type": "application/json" }).end('{"channels":{}}');
            return;
        }
        let events: PusherEvent[] = [];
        try {
            const body = JSON.parse(raw) as {
                batch?: PusherEvent[];
                channels?: string[];
                name?: string;
                data?: string;
            };
            events = body.batch
                ? body.batch.map(e => ({ channel: e.channel, name: e.name, data: e.data }))
                : (body.channels ?? []).map(channel => ({ channel, name: body.name ?? "", data: body.data ?? "" }));
        } catch {
            events = [];
        }
        const n = ++count;
        const answer = api.decide(n, events);
        posts.push({ n, path: url.pathname, events, verdict: answer, at: Date.now() });
        if (answer === "hang") {
            return;
        }
        if (answer === "ok") {
            delivered.push(...events);
            res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
            return;
        }
        res.writeHead(answer, { "Content-Type": "text/plain" }).end(`fake failure ${answer}`);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    return {
        port: (server.address() as AddressInfo).port,
        get decide() {
            return api.decide;
        },
        set decide(value) {
            api.decide = value;
        },
        posts,
        delivered,
        get badSignatures() {
            return badSignatures;
        },
        reset() {
            posts.length = 0;
            delivered.length = 0;
            count = 0;
            badSignatures = 0;
            api.decide = () => "ok";
        },
        close: () =>
            new Promise<void>(resolve => {
                server.close(() => resolve());
                server.closeAllConnections();
            })
    };
}

/** Environment of the server in PUSHER_HOST mode pointing at a fake Pusher API. */
export function pusherHostEnv(port: number): NodeJS.ProcessEnv {
    return {
        PUSHER_APP_ID: PUSHER.appId,
        PUSHER_KEY: PUSHER.key,
        PUSHER_SECRET: PUSHER.secret,
        PUSHER_HOST: "127.0.0.1",
        PUSHER_PORT: String(port),
        PUSHER_USE_TLS: "false"
    };
}

// --- pusher-js listeners ----------------------------------------------------------------------------------

/** A real pusher-js client for the app's embedded broker, authorizing through /rest/pusher/auth with `headers`. */
export function createListener(
    app: { url: string; port: number },
    headers: Record<string, string> = BEARER,
    extra: Partial<ConstructorParameters<typeof PusherClient>[1]> = {}
): PusherClient {
    return new PusherClient(BROKER.key, {
        cluster: "local",
        wsHost: "127.0.0.1",
        wsPort: app.port,
        forceTLS: false,
        enabledTransports: ["ws"],
        disableStats: true,
        channelAuthorization: { endpoint: `${app.url}/rest/pusher/auth`, transport: "ajax", headers },
        ...extra
    });
}

// --- small helpers -------------------------------------------------------------------------------------

/** Runs `task` over `items` with at most `concurrency` at a time; results in order. */
export async function pool<T, R>(
    items: readonly T[],
    concurrency: number,
    task: (item: T, index: number) => Promise<R>
) {
    const results = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const index = next++;
            results[index] = await task(items[index], index);
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    return results;
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

/** Polls `check` every `intervalMs` until true; throws after `timeoutMs` naming `what`. */
export async function until(
    check: () => boolean | Promise<boolean>,
    timeoutMs: number,
    what: string,
    intervalMs = 20
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) {
            throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await sleep(intervalMs);
    }
}

/** A plain HTTP server on 127.0.0.1:0 (for one-off fakes); `close` ends open connections too. */
export async function startHttpServer(
    handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void | Promise<void>
): Promise<{ url: string; port: number; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
        readBody(req)
            .catch(() => "")
            .then(body => handler(req, res, body))
            .catch(() => res.destroy());
    });
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        port,
        close: () =>
            new Promise<void>(resolve => {
                server.close(() => resolve());
                server.closeAllConnections();
            })
    };
}

/** A port that was free a moment ago (nothing listens on it). */
export async function freePort(): Promise<number> {
    const server = http.createServer();
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>(resolve => server.close(() => resolve()));
    return port;
}

/**
 * Runs an async fast-check property and throws a short error (seed, path, the first problems) instead of
 * fast-check's full counterexample, which can be megabytes of generated strings. `FC_SEED=<seed>` replays a
 * reported failure.
 */
export async function checkProperty<T>(
    arbitrary: fc.Arbitrary<T>,
    numRuns: number,
    run: (value: T) => Promise<void>
): Promise<void> {
    const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
    const details = await fc.check(fc.asyncProperty(arbitrary, run), { numRuns, seed });
    if (details.failed) {
        const error = details.errorInstance;
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(
            `Property failed after ${details.numRuns} runs (seed ${details.seed}, path "${details.counterexamplePath}", ` +
                `shrunk ${details.numShrinks} times):\n${message.slice(0, 6000)}`
        );
    }
}

/** Retry policy of trigger calls for a test server (`AppOptions.brokerRetry`, proposed in broker-retries.diff). */
export interface BrokerRetry {
    attempts?: number;
    baseDelayMs?: number;
    timeoutMs?: number;
}

export function withBrokerRetry(brokerRetry: BrokerRetry): AppOptions {
    return { brokerRetry } as AppOptions;
}

// --- the server as a real process ------------------------------------------------------------------------

export const ROOT = path.resolve(import.meta.dirname, "../..");

export interface ServerProcess {
    child: ChildProcess;
    /** Base URL from the start log ("listening on ..."). */
    url: string;
    port: number;
    /** stdout lines (pino JSON) and stderr text so far (empty with `logFile`: read the file). */
    lines: string[];
    stderr: string[];
    /** Resolves with the exit code (or the signal name) once the process ended. */
    exited: Promise<number | string | null>;
}

/**
 * Starts the server as its own process with `env` (no inherited variables but PATH and HOME) and waits for
 * its "listening on" log line. `via: "tsx"` runs `tsx server/main.ts` like `npm start`; `via: "node"` runs
 * `node --import tsx <entry>` in ONE process (for memory measurements), with `nodeArgs` and an IPC channel.
 */
export async function spawnServer(
    env: Record<string, string>,
    options: {
        via?: "tsx" | "node";
        entry?: string;
        nodeArgs?: string[];
        timeoutMs?: number;
        /** Write stdout and stderr to this file instead of pipes (a busy reader can then never stall the server). */
        logFile?: string;
    } = {}
): Promise<ServerProcess> {
    const { via = "tsx", entry = "server/main.ts", nodeArgs = [], timeoutMs = 20_000, logFile } = options;
    const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env };
    const fd = logFile === undefined ? undefined : fs.openSync(logFile, "a");
    const output = fd === undefined ? ("pipe" as const) : fd;
    const child =
        via === "tsx"
            ? spawn(path.join(ROOT, "node_modules/.bin/tsx"), [entry], {
                  cwd: ROOT,
                  env: baseEnv,
                  stdio: ["ignore", output, output]
              })
            : spawn(process.execPath, [...nodeArgs, "--import", "tsx", entry], {
                  cwd: ROOT,
                  env: baseEnv,
                  stdio: ["ignore", output, output, "ipc"]
              });
    if (fd !== undefined) {
        fs.closeSync(fd);
    }
    const lines: string[] = [];
    const stderr: string[] = [];
    let partial = "";
    child.stdout?.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString("utf8");
        const parts = text.split("\n");
        partial = parts.pop() ?? "";
        lines.push(...parts.filter(Boolean));
    });
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
    const startLines = () =>
        logFile === undefined ? lines : fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    const exited = new Promise<number | string | null>(resolve =>
        child.once("exit", (code, signal) => resolve(code ?? signal))
    );
    let url = "";
    const deadline = Date.now() + timeoutMs;
    while (url === "") {
        const line = startLines().find(l => l.includes("listening on "));
        const match = line === undefined ? null : /listening on (http:\/\/[^\s"]+)/.exec(line);
        if (match) {
            url = match[1];
            break;
        }
        if (child.exitCode !== null || Date.now() > deadline) {
            child.kill("SIGKILL");
            throw new Error(
                `The server did not start: ${stderr.join("").slice(0, 2000)} ${startLines().join("\n").slice(0, 2000)}`
            );
        }
        await sleep(25);
    }
    return { child, url, port: Number(new URL(url).port), lines, stderr, exited };
}

/** Environment of a server process using the suite's secrets and fixed broker credentials. */
export function processEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
        PORT: "0",
        HOST: "127.0.0.1",
        PLAYGROUND: "false",
        LOG_LEVEL: "info",
        NOTIFY_API_KEY: API_KEY,
        BROKER_APP_ID: BROKER.appId,
        BROKER_KEY: BROKER.key,
        BROKER_SECRET: BROKER.secret,
        ...extra
    };
}
