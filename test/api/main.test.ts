/**
 * `npm start` as a real process (`tsx server/main.ts`): start log, config errors, SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { answer, waitFor } from "./helpers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const children: ChildProcess[] = [];

interface Started {
    child: ChildProcess;
    lines: string[];
    stderr: string[];
    exited: Promise<number | null>;
}

function start(env: Record<string, string>): Started {
    const child = spawn(TSX, ["server/main.ts"], {
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
