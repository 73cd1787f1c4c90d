/**
 * Messages between the bench driver and its child processes (companion server, bare `ws` baseline,
 * fake Mendix access check). Every child announces itself with `ready`, answers `stats` with
 * `stats`, starts/stops its CPU profiler on `profile`, and exits on `close`.
 */
import { writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Session } from "node:inspector/promises";

export interface ReadyMessage {
    type: "ready";
    /** Base URL, e.g. `http://127.0.0.1:40123`. */
    url: string;
    pid: number;
}

export interface StatsRequest {
    type: "stats";
    id: number;
    /** Run `global.gc()` (twice) before measuring; needs `--expose-gc`. */
    gc?: boolean;
}

export interface ProcessStats {
    /** Resident set size, bytes. */
    rss: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
    arrayBuffers: number;
    /** CPU time used by the process since it started, microseconds (user + system). */
    cpuMicros: number;
    /** Open WebSocket connections as the child counts them. */
    sockets: number;
}

export interface StatsMessage extends ProcessStats {
    type: "stats";
    id: number;
}

export interface CloseRequest {
    type: "close";
}

/** Start the V8 CPU profiler (`file` absent) or stop it and write the `.cpuprofile` to `file`. */
export interface ProfileRequest {
    type: "profile";
    id: number;
    file?: string;
}

export interface ProfileAnswer {
    type: "profile";
    id: number;
    error?: string;
}

export type ParentMessage = StatsRequest | CloseRequest | ProfileRequest;
export type ChildMessage = ReadyMessage | StatsMessage | ProfileAnswer;

let profiler: Session | undefined;

/** The same V8 sampling profiler as `node --cpu-prof`, but only for the window the driver asks for. */
async function profile(file: string | undefined): Promise<void> {
    if (file === undefined) {
        profiler = new Session();
        profiler.connect();
        await profiler.post("Profiler.enable");
        await profiler.post("Profiler.start");
        return;
    }
    if (profiler === undefined) {
        throw new Error("the profiler was not started");
    }
    const { profile: result } = await profiler.post("Profiler.stop");
    profiler.disconnect();
    profiler = undefined;
    await writeFile(file, JSON.stringify(result));
}

/** Collects this process's stats (for children). */
export async function ownStats(gc: boolean, sockets: number): Promise<ProcessStats> {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (gc && collect) {
        collect();
        await new Promise(resolve => setTimeout(resolve, 20));
        collect();
    }
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    return {
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        heapTotal: memory.heapTotal,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        cpuMicros: cpu.user + cpu.system,
        sockets
    };
}

/** Wires the IPC channel of a child: answers `stats`, runs `close` then exits. */
export function serveParent(options: { sockets: () => number; close: () => Promise<void> }): void {
    let closing = false;
    process.on("message", (message: ParentMessage) => {
        if (message.type === "stats") {
            void ownStats(message.gc === true, options.sockets()).then(stats => {
                const reply: StatsMessage = { type: "stats", id: message.id, ...stats };
                process.send?.(reply);
            });
        } else if (message.type === "profile") {
            void profile(message.file).then(
                () => process.send?.({ type: "profile", id: message.id } satisfies ProfileAnswer),
                (error: unknown) =>
                    process.send?.({ type: "profile", id: message.id, error: String(error) } satisfies ProfileAnswer)
            );
        } else if (message.type === "close" && !closing) {
            closing = true;
            const hardStop = setTimeout(() => process.exit(0), 5_000);
            void options
                .close()
                .catch(() => undefined)
                .finally(() => {
                    clearTimeout(hardStop);
                    process.exit(0);
                });
        }
    });
    // The driver died: do not linger.
    process.on("disconnect", () => process.exit(0));
}

export function announce(url: string): void {
    const ready: ReadyMessage = { type: "ready", url, pid: process.pid };
    process.send?.(ready);
}

/** Closes an HTTP server now: its keep-alive connections too, then the listener. */
export async function closeHttpServer(server: Server): Promise<void> {
    server.closeAllConnections();
    await new Promise<void>(resolve => server.close(() => resolve()));
}

/** A child that is one plain HTTP server: listens on 127.0.0.1 (ephemeral port), serves the parent, announces. */
export function listenForParent(server: Server): void {
    server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        serveParent({ sockets: () => 0, close: () => closeHttpServer(server) });
        announce(`http://127.0.0.1:${port}`);
    });
}
