/**
 * Figures for the security review's closing note (`npx tsx test/security/measure.ts`; `--quick` skips the
 * 30-second slow-body wait). Everything runs on 127.0.0.1 against the real server with its default settings
 * unless a line says otherwise; every loop and wait is bounded.
 *
 *   1. sockets from one address: 5,000 opened against the default per-address cap;
 *   2. open files: the server under `ulimit -n 1024` (per-address cap lifted), 1,100 sockets, then HTTP;
 *   3. memory with the subscription cap: 1,000 sockets sending 1,000 public subscriptions each, then each
 *      joining the allowed 100 signed private channels (server RSS / heap after a full GC, own process);
 *   4. slow clients with the default limits: header slowloris, slow upgrade, slow body, idle keep-alive;
 *   5. sessions behind one address: 500 distinct sessions, then one session flooding.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type http from "node:http";
import net from "node:net";
import type { ProbeRequest, ProbeSample } from "../soak/server-entry";
import {
    ROOT,
    pool,
    postForm,
    processEnv,
    sleep,
    startApp,
    startHttpServer,
    type AppUnderTest
} from "../reliability/harness";
import { openPusherSockets, pusherUrl, subscribeSigned, tally, terminateAll, type SocketOutcome } from "./helpers";

const quick = process.argv.includes("--quick");
const results: Record<string, unknown> = {};
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function report(name: string, value: unknown): void {
    results[name] = value;
    console.log(`${name}: ${JSON.stringify(value)}`);
}

interface ProbedServer {
    child: ChildProcess;
    url: string;
    port: number;
    sample(): Promise<ProbeSample>;
    stop(): Promise<void>;
}

/** The server (with the soak's memory probe) as its own process under `ulimit -n <openFiles>`. */
async function startProbed(openFiles: number, env: Record<string, string>): Promise<ProbedServer> {
    const child = spawn(
        "/bin/sh",
        [
            "-c",
            `ulimit -n ${openFiles} && exec "$0" --expose-gc --import tsx test/soak/server-entry.ts`,
            process.execPath
        ],
        {
            cwd: ROOT,
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_FORMAT: "json", ...env },
            stdio: ["ignore", "pipe", "pipe", "ipc"]
        }
    );
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const deadline = Date.now() + 30_000;
    let url = "";
    while (url === "") {
        const match = /listening on (http:\/\/[^\s"]+)/.exec(output);
        if (match) {
            url = match[1];
        } else if (child.exitCode !== null || Date.now() > deadline) {
            child.kill("SIGKILL");
            throw new Error(`server did not start: ${output.slice(0, 2000)}`);
        }
        await sleep(25);
    }
    const warning = output.split("\n").find(line => line.includes("open-files limit"));
    if (warning) {
        report(`start warning under ulimit -n ${openFiles}`, (JSON.parse(warning) as { msg: string }).msg);
    }
    return {
        child,
        url,
        port: Number(new URL(url).port),
        sample: () =>
            new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error("probe did not answer")), 20_000);
                child.once("message", (message: ProbeSample) => {
                    clearTimeout(timer);
                    resolve(message);
                });
                child.send({ type: "sample", gc: true } satisfies ProbeRequest);
            }),
        stop: async () => {
            child.kill("SIGKILL");
            await new Promise(resolve => child.once("exit", resolve));
        }
    };
}

async function perAddress(): Promise<void> {
    const app = await startApp({ LOG_LEVEL: "warn" });
    try {
        const started = Date.now();
        const outcomes = await openPusherSockets(pusherUrl(app.port), 5_000, 100);
        const key = await fetch(`${app.url}/rest/pusher/key`);
        report("1. 5,000 sockets from one address (default cap)", {
            ...tally(outcomes),
            closeCodes: [...new Set(outcomes.flatMap(o => (o.kind === "refused" ? [o.closeCode] : [])))],
            keyStatus: key.status,
            seconds: (Date.now() - started) / 1000
        });
        terminateAll(outcomes);
    } finally {
        await app.close();
    }
}

async function openFiles(): Promise<void> {
    const server = await startProbed(1024, processEnv({ BROKER_MAX_CONNECTIONS_PER_ADDRESS: "100000" }));
    try {
        const outcomes = await openPusherSockets(pusherUrl(server.port), 1_100, 50);
        const statuses: Record<string, number> = {};
        for (const path of ["/rest/pusher/key", "/healthz", "/readyz"]) {
            const response = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(5_000) }).catch(
                () => undefined
            );
            statuses[path] = response?.status ?? 0;
        }
        report("2. 1,100 sockets under ulimit -n 1024 (per-address cap lifted)", { ...tally(outcomes), statuses });
        terminateAll(outcomes);
    } finally {
        await server.stop();
    }
}

async function subscriptions(): Promise<void> {
    const server = await startProbed(20_000, processEnv());
    const sockets: SocketOutcome[] = [];
    try {
        const before = await server.sample();
        sockets.push(...(await openPusherSockets(pusherUrl(server.port), 1_000, 50)));
        const connected = await server.sample();
        const open = sockets.flatMap(o => (o.kind === "established" ? [o] : []));
        // The attack of the finding: 1,000 public subscriptions per socket, with only the public key.
        for (const outcome of open) {
            for (let i = 0; i < 1_000; i++) {
                outcome.socket.send({ event: "pusher:subscribe", data: { channel: `public-${i}` } });
            }
        }
        await pool(open, 50, outcome =>
            outcome.socket.next(frame => frame.channel === "public-999", 60_000).then(frame => frame.event)
        );
        const attacked = await server.sample();
        const succeeded = open.reduce(
            (sum, o) => sum + o.socket.frames.filter(f => f.event === "pusher_internal:subscription_succeeded").length,
            0
        );
        // What a legitimate page may hold at most: 100 signed private channels per socket (and the 101st refused).
        const answers = await pool(open, 50, async outcome => {
            let ok = 0;
            for (let i = 0; i <= 100; i++) {
                const frame = await subscribeSigned(outcome.socket, outcome.socketId, `private-M.E.${i}`);
                if (frame.event === "pusher_internal:subscription_succeeded") ok++;
            }
            return ok;
        });
        const full = await server.sample();
        report("3. memory, 1,000 sockets (server RSS and heap after GC, MB)", {
            idle: { rss: mb(before.memory.rss), heap: mb(before.memory.heapUsed) },
            connected: { rss: mb(connected.memory.rss), heap: mb(connected.memory.heapUsed) },
            after1000PublicSubscribesEach: {
                rss: mb(attacked.memory.rss),
                heap: mb(attacked.memory.heapUsed),
                subscriptionsHeld: succeeded
            },
            after100PrivateEach: {
                rss: mb(full.memory.rss),
                heap: mb(full.memory.heapUsed),
                subscriptionsHeld: answers.reduce((sum, n) => sum + n, 0),
                refused101st: answers.every(n => n === 100)
            }
        });
    } finally {
        terminateAll(sockets);
        await server.stop();
    }
}

/** Writes `first`, then one byte of `drip` every second (a patient slowloris); resolves when the server hangs up. */
function slow(port: number, first: string, drip: string, limitMs: number): Promise<{ ms: number; status: string }> {
    return new Promise(resolve => {
        const started = Date.now();
        const socket = net.connect(port, "127.0.0.1");
        let answer = "";
        let index = 0;
        socket.on("data", chunk => (answer += chunk.toString("utf8")));
        socket.on("error", () => undefined);
        socket.write(first);
        const timer = setInterval(() => socket.writable && socket.write(drip[index++ % drip.length]), 1_000);
        const giveUp = setTimeout(() => socket.destroy(), limitMs);
        socket.on("close", () => {
            clearInterval(timer);
            clearTimeout(giveUp);
            resolve({ ms: Date.now() - started, status: answer.split("\r\n")[0] || "(closed without an answer)" });
        });
    });
}

async function slowClients(): Promise<void> {
    const app: AppUnderTest = await startApp({ LOG_LEVEL: "warn" });
    try {
        const keepAlive = new Promise<{ ms: number }>(resolve => {
            const socket = net.connect(app.port, "127.0.0.1");
            let answeredAt = 0;
            socket.on("data", () => (answeredAt ||= Date.now()));
            socket.on("close", () => resolve({ ms: Date.now() - answeredAt }));
            socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        });
        const [headers, upgrade, body, idle] = await Promise.all([
            slow(app.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: a\r\n", 120_000),
            slow(
                app.port,
                "GET /app/key?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
                "X-Slow: a\r\n",
                120_000
            ),
            quick
                ? Promise.resolve({ ms: 0, status: "skipped (--quick)" })
                : slow(
                      app.port,
                      "POST /rest/pusher/auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n",
                      "a",
                      400_000
                  ),
            keepAlive
        ]);
        report("4. slow clients, default limits (ms until the server hung up)", {
            headerSlowloris: headers,
            slowUpgrade: upgrade,
            slowBody: body,
            idleKeepAlive: idle
        });
    } finally {
        await app.close();
    }
}

async function sessions(): Promise<void> {
    const access = await startHttpServer((_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeHead(200, { "Content-Type": "application/json" }).end('{"user":"someone"}');
    });
    const app = await startApp({ LOG_LEVEL: "warn", MENDIX_APP_URL: access.url });
    try {
        const fields = { socket_id: "1.2", channel_name: "private-Sales.Order.1" };
        const distinct = await pool(
            Array.from({ length: 500 }, (_, i) => i),
            20,
            i => postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, { Cookie: `XASSESSIONID=s-${i}` })
        );
        const flood: number[] = [];
        for (let i = 0; i < 310; i++) {
            flood.push(
                (
                    await postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, {
                        Cookie: `XASSESSIONID=flood; dummy=${i}`
                    })
                ).status
            );
        }
        const firstRefused = flood.indexOf(429);
        const refused = await postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, {
            Cookie: "XASSESSIONID=flood"
        });
        report("5. auth behind one address (defaults)", {
            distinctSessionsSigned: `${distinct.filter(a => a.status === 200).length} of 500`,
            floodingSession: `requests 1-${firstRefused} signed, request ${firstRefused + 1} on: 429`,
            retryAfter: refused.headers.get("retry-after"),
            neighbourAfterFlood: (
                await postForm(app.evidence, `${app.url}/rest/pusher/auth`, fields, { Cookie: "XASSESSIONID=other" })
            ).status
        });
    } finally {
        await app.close();
        await access.close();
    }
}

async function main(): Promise<void> {
    await perAddress();
    await openFiles();
    await subscriptions();
    await sessions();
    await slowClients();
    console.log(JSON.stringify(results, null, 2));
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
