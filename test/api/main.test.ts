/**
 * The server as a real process: `npm start`'s entry (`tsx server/main.ts`) and the compiled one that
 * `npm run start:prod` runs with plain node: start banner and logs, port in use, config errors, SIGTERM.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answer, waitFor } from "./helpers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const children: ChildProcess[] = [];

interface Started {
    child: ChildProcess;
    lines: string[];
    stderr: string[];
    exited: Promise<number | null>;
}

function start(
    env: Record<string, string>,
    command: string[] = [process.execPath, "--import", "tsx", "server/main.ts"]
): Started {
    const child = spawn(command[0], command.slice(1), {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"]
    });
    children.push(child);
    const lines: string[] = [];
    const stderr: string[] = [];
    child.stdout!.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
    child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
    return { child, lines, stderr, exited };
}

function messages(lines: string[]): string[] {
    return lines.map(line => (JSON.parse(line) as { msg: string }).msg);
}

afterEach(() => {
    for (const child of children.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGKILL");
        }
    }
});

describe("server/main.ts", () => {
    it("in a terminal (LOG_FORMAT=text) prints a banner with URL, playground, broker, key and a working curl line", async () => {
        const run = start({ PORT: "0", HOST: "127.0.0.1", LOG_FORMAT: "text" });
        await waitFor(() => run.lines.some(line => line.includes("Try it")), 15_000, "the banner");
        const text = run.lines.join("\n");
        const url = /Notify & Listen server on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1];
        expect(text).toContain(`Playground    ${url}/`);
        expect(text).toContain("Broker        embedded broker (random credentials for this start)");
        expect(text).toContain("Access check  the playground's fake Mendix app");
        const key = /API key {7}(\S+) {2}\(generated for this run/.exec(text)![1];
        const curl = run.lines.find(line => line.includes("curl -X POST"))!;
        expect(curl).toContain(`-H "Authorization: Bearer ${key}"`);
        // The curl line's request, sent as curl would send it.
        const body = /-d '([^']+)'/.exec(curl)![1];
        const notify = await answer(
            fetch(`${url}/rest/pusher/notify`, {
                method: "POST",
                headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
                body
            })
        );
        expect(notify).toEqual({
            status: 200,
            body: { triggered: 1, channels: ["private-Sales.Order.281474976710657"] }
        });
        // Successful requests stay out of the default (info) log; a refusal is logged, as text, not JSON.
        await answer(fetch(`${url}/rest/pusher/notify`, { method: "POST" }));
        await waitFor(() => run.lines.some(line => / INFO {2}request .*status=401/.test(line)), 5_000, "the 401 line");
        expect(run.lines.some(line => line.includes("status=200"))).toBe(false);
        expect(run.lines.some(line => line.startsWith("{"))).toBe(false);
        run.child.kill("SIGTERM");
        expect(await run.exited).toBe(0);
    });

    it("exits 1 with one line naming the port and how to choose another when the port is in use", async () => {
        const blocker = net.createServer();
        blocker.listen(0, "127.0.0.1");
        await once(blocker, "listening");
        const port = (blocker.address() as net.AddressInfo).port;
        try {
            const run = start({ PORT: String(port), HOST: "127.0.0.1", PLAYGROUND: "false" });
            expect(await run.exited).toBe(1);
            const lines = run.stderr.join("").split("\n").filter(Boolean);
            expect(lines).toEqual([
                `Port ${port} is already in use (127.0.0.1:${port}). Choose another port: PORT=8095 node dist/server/main.js`
            ]);
        } finally {
            blocker.close();
        }
    });

    it("logs broker, URL and the generated key, serves, and exits 0 on SIGTERM", async () => {
        const run = start({ PORT: "0", HOST: "127.0.0.1", PLAYGROUND: "false" });
        await waitFor(() => messages(run.lines).some(msg => msg.startsWith("NOTIFY_API_KEY")), 15_000, "the start log");
        const log = messages(run.lines);
        expect(log).toContain("broker: embedded broker (random credentials for this start)");
        const listening = log.find(msg => msg.startsWith("listening on "))!;
        const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(listening)![1];
        const key = /generated for this run: (\S+)$/.exec(log.find(msg => msg.startsWith("NOTIFY_API_KEY"))!)![1];
        expect(key.length).toBeGreaterThanOrEqual(32);
        expect(await answer(fetch(`${url}/healthz`))).toEqual({ status: 200, body: { status: "ok" } });
        const notify = await answer(
            fetch(`${url}/rest/pusher/notify`, {
                method: "POST",
                headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
                body: JSON.stringify({ topic: "Sales.Order.1", action: "refresh" })
            })
        );
        expect(notify).toEqual({ status: 200, body: { triggered: 1, channels: ["private-Sales.Order.1"] } });
        // The key appears in exactly one log line.
        expect(run.lines.filter(line => line.includes(key))).toHaveLength(1);

        run.child.kill("SIGTERM");
        expect(await run.exited).toBe(0);
        expect(messages(run.lines)).toContain("stopped");
    });

    it("never logs the key in production", async () => {
        const key = "production-key-0123456789abcdefghijklmn";
        const run = start({
            NODE_ENV: "production",
            PORT: "0",
            HOST: "127.0.0.1",
            NOTIFY_API_KEY: key,
            MENDIX_APP_URL: "http://127.0.0.1:9"
        });
        await waitFor(() => messages(run.lines).some(msg => msg.startsWith("access check:")), 15_000, "the start log");
        expect(messages(run.lines)).toContain("access check: POST http://127.0.0.1:9/rest/notifylisten/v1/access");
        expect(messages(run.lines).some(msg => msg.startsWith("playground"))).toBe(false);
        run.child.kill("SIGTERM");
        expect(await run.exited).toBe(0);
        expect(run.lines.join("\n")).not.toContain(key);
    });

    it("prints the bad variables and exits 1 on a bad configuration", async () => {
        const run = start({ PORT: "abc", PUSHER_KEY: "k" });
        expect(await run.exited).toBe(1);
        const text = run.stderr.join("");
        expect(text).toMatch(/PORT: must be a whole number/);
        expect(text).toMatch(/PUSHER_APP_ID: is missing/);
        expect(text).toMatch(/PUSHER_SECRET: is missing/);
    });
});

describe("dist/server/main.js (npm run start:prod): the compiled server under plain node", () => {
    // Compiled like `npm run build:server`, into a folder inside the repository so packages resolve as in dist/.
    const outDir = path.join(ROOT, "node_modules/.cache/notifylisten-compiled-server");

    beforeAll(async () => {
        rmSync(outDir, { recursive: true, force: true });
        await promisify(execFile)(
            path.join(ROOT, "node_modules/.bin/tsc"),
            ["-p", "tsconfig.build.json", "--outDir", outDir],
            {
                cwd: ROOT
            }
        );
    }, 60_000);
    afterAll(() => rmSync(outDir, { recursive: true, force: true }));

    it("starts in production without a TypeScript loader, answers /healthz and the key, and stops on SIGTERM", async () => {
        const run = start(
            {
                NODE_ENV: "production",
                PORT: "0",
                HOST: "127.0.0.1",
                NOTIFY_API_KEY: "production-key-0123456789abcdefghijklmn",
                MENDIX_APP_URL: "http://127.0.0.1:9"
            },
            [process.execPath, path.join(outDir, "server/main.js")]
        );
        await waitFor(() => messages(run.lines).some(msg => msg.startsWith("listening on ")), 15_000, "the start log");
        const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(
            messages(run.lines).find(msg => msg.startsWith("listening on "))!
        )![1];
        expect(await answer(fetch(`${url}/healthz`))).toEqual({ status: 200, body: { status: "ok" } });
        const key = await answer(fetch(`${url}/rest/pusher/key`));
        expect(key.status).toBe(200);
        expect(key.body).toMatchObject({ key: expect.any(String), cluster: expect.any(String) });
        run.child.kill("SIGTERM");
        expect(await run.exited).toBe(0);
    });
});
