/**
 * Helpers of the security regression suite: raw Pusher WebSockets against the real server (what an attacker
 * with only the public key opens), signed subscriptions, and the server as a process under an open-files limit.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { WebSocket } from "ws";
import { openRawSocket, type RawFrame, type RawSocket } from "../broker/helpers";
import { BROKER, ROOT, expectedAuth, sleep } from "../reliability/harness";

export { openRawSocket, type RawFrame, type RawSocket };

/** `ws://127.0.0.1:<port>/app/<key>?protocol=7` of a server started with the suite's broker credentials. */
export function pusherUrl(port: number, key = BROKER.key): string {
    return `ws://127.0.0.1:${port}/app/${encodeURIComponent(key)}?protocol=7&client=js&version=8.4.0`;
}

export type SocketOutcome =
    | { kind: "established"; socket: RawSocket; socketId: string }
    | { kind: "refused"; code: number; message: string; closeCode: number; socket: RawSocket }
    | { kind: "failed"; error: string };

/** Opens one Pusher socket and waits for `connection_established` or the refusal (error frame + close). */
export async function openPusherSocket(
    url: string,
    headers: Record<string, string> = {},
    timeoutMs = 10_000
): Promise<SocketOutcome> {
    let socket: RawSocket;
    try {
        socket = await openRawSocket(url, timeoutMs, headers);
    } catch (error) {
        return { kind: "failed", error: String(error) };
    }
    try {
        const first = await socket.next(
            frame => frame.event === "pusher:connection_established" || frame.event === "pusher:error",
            timeoutMs
        );
        if (first.event === "pusher:connection_established") {
            return { kind: "established", socket, socketId: (first.data as { socket_id: string }).socket_id };
        }
        const { code, message } = first.data as { code: number; message: string };
        const closed = await Promise.race([socket.closed, sleep(timeoutMs).then(() => ({ code: -1, reason: "" }))]);
        return { kind: "refused", code, message, closeCode: closed.code, socket };
    } catch (error) {
        socket.ws.terminate();
        return { kind: "failed", error: String(error) };
    }
}

/** Opens `count` sockets, `concurrency` at a time, keeping every one open; outcomes in order. */
export async function openPusherSockets(url: string, count: number, concurrency = 50): Promise<SocketOutcome[]> {
    const outcomes = new Array<SocketOutcome>(count);
    let next = 0;
    const worker = async () => {
        while (next < count) {
            const index = next++;
            outcomes[index] = await openPusherSocket(url);
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return outcomes;
}

/** Closes every socket of `outcomes` at once (terminate: no close handshake to wait for). */
export function terminateAll(outcomes: readonly SocketOutcome[]): void {
    for (const outcome of outcomes) {
        if (outcome.kind !== "failed" && outcome.socket.ws.readyState !== WebSocket.CLOSED) {
            outcome.socket.ws.terminate();
        }
    }
}

export function tally(outcomes: readonly SocketOutcome[]): { established: number; refused: number; failed: number } {
    return {
        established: outcomes.filter(o => o.kind === "established").length,
        refused: outcomes.filter(o => o.kind === "refused").length,
        failed: outcomes.filter(o => o.kind === "failed").length
    };
}

/** Subscribes a raw socket to `channel` with a correct signature; resolves with the answer frame. */
export async function subscribeSigned(socket: RawSocket, socketId: string, channel: string): Promise<RawFrame> {
    socket.send({
        event: "pusher:subscribe",
        data: { channel, auth: expectedAuth(BROKER.key, BROKER.secret, socketId, channel) }
    });
    return socket.next(
        frame =>
            frame.channel === channel &&
            (frame.event === "pusher_internal:subscription_succeeded" || frame.event === "pusher:subscription_error")
    );
}

export interface LimitedProcess {
    child: ChildProcess;
    url: string;
    port: number;
    /** stdout lines (pino JSON) so far. */
    lines: string[];
    stop(): Promise<void>;
}

/**
 * Starts `server/main.ts` as its own process under `ulimit -n <openFiles>` (soft and hard), the way a service
 * manager with a low LimitNOFILE runs it, and waits for its "listening on" line.
 */
export async function startUnderOpenFilesLimit(
    openFiles: number,
    env: Record<string, string>,
    timeoutMs = 20_000
): Promise<LimitedProcess> {
    const child = spawn(
        "/bin/sh",
        ["-c", `ulimit -n ${openFiles} && exec "$0" --import tsx server/main.ts`, process.execPath],
        {
            cwd: ROOT,
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_FORMAT: "json", ...env },
            stdio: ["ignore", "pipe", "pipe"]
        }
    );
    const lines: string[] = [];
    let stderr = "";
    let partial = "";
    child.stdout!.on("data", (chunk: Buffer) => {
        const parts = (partial + chunk.toString("utf8")).split("\n");
        partial = parts.pop() ?? "";
        lines.push(...parts.filter(Boolean));
    });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
    const deadline = Date.now() + timeoutMs;
    let url = "";
    while (url === "") {
        const match = lines.map(line => /listening on (http:\/\/[^\s"]+)/.exec(line)).find(Boolean);
        if (match) {
            url = match[1];
            break;
        }
        if (child.exitCode !== null || Date.now() > deadline) {
            child.kill("SIGKILL");
            throw new Error(`the server did not start: ${stderr.slice(0, 2000)} ${lines.join("\n").slice(0, 2000)}`);
        }
        await sleep(25);
    }
    return {
        child,
        url,
        port: Number(new URL(url).port),
        lines,
        stop: async () => {
            if (child.exitCode === null) {
                child.kill("SIGKILL");
                await exited;
            }
        }
    };
}
