/**
 * File descriptors: every WebSocket holds one, and so does every HTTP connection. When the broker's sockets use
 * up the process's open-files limit, `accept()` fails and HTTP stops for everyone (`GET /rest/pusher/key`
 * included). The broker therefore reads the soft limit (RLIMIT_NOFILE) at start and refuses new sockets with the
 * Pusher over-capacity close (4100, pusher-js retries after a backoff) while a reserve is still free.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Parses the soft "Max open files" limit out of `/proc/<pid>/limits`; undefined when absent or unlimited. */
export function parseProcLimits(text: string): number | undefined {
    const line = text.split("\n").find(entry => entry.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
}

/**
 * The process's soft open-files limit, or undefined when it is unlimited or cannot be read: Linux reads
 * `/proc/self/limits`, other Unix systems ask `ulimit -n` of a shell (it inherits this process's limit).
 */
export function readOpenFilesLimit(): number | undefined {
    try {
        return parseProcLimits(readFileSync("/proc/self/limits", "utf8"));
    } catch {
        // Not Linux: fall through.
    }
    if (process.platform === "win32") {
        return undefined;
    }
    try {
        const result = spawnSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8", timeout: 2_000 });
        const text = result.stdout?.trim() ?? "";
        return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
        return undefined;
    }
}

/** Descriptors kept free for HTTP connections, the listening socket, logs and Node itself: 10 %, at least 128. */
export function descriptorReserve(limit: number): number {
    return Math.max(128, Math.ceil(limit * 0.1));
}

/** Most WebSockets the broker holds under an open-files limit (undefined: no limit known). */
export function socketBudget(limit: number | undefined): number | undefined {
    return limit === undefined ? undefined : Math.max(0, limit - descriptorReserve(limit));
}
