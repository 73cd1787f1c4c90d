/** Facts about the machine the bench ran on. */
import { spawnSync } from "node:child_process";
import os from "node:os";

export interface MachineFacts {
    cpuModel: string;
    cores: number;
    memory: string;
    node: string;
    os: string;
    /** Soft limit of open files of the bench process (`ulimit -n`). */
    fdLimit: number;
    /** 1-minute load average when the facts were taken (other work on the machine skews results). */
    loadAverage: number;
}

/** 1, 5 and 15-minute load averages, e.g. "0.52 / 0.40 / 0.31". */
export function loadAverages(): string {
    return os
        .loadavg()
        .map(value => value.toFixed(2))
        .join(" / ");
}

/** `ulimit -n` as inherited by children of this process. */
export function openFilesLimit(): number {
    const result = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" });
    const value = result.stdout.trim();
    return value === "unlimited" ? Number.POSITIVE_INFINITY : Number(value);
}

/** The hard open-files limit (`ulimit -Hn`): how far a child may raise its own. */
export function hardOpenFilesLimit(): number {
    const result = spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" });
    const value = result.stdout.trim();
    return value === "unlimited" ? Number.POSITIVE_INFINITY : Number(value);
}

export function machineFacts(): MachineFacts {
    const cpus = os.cpus();
    return {
        cpuModel: cpus[0]?.model.trim() ?? "unknown",
        cores: os.availableParallelism?.() ?? cpus.length,
        memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GB`,
        node: process.version,
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        fdLimit: openFilesLimit(),
        loadAverage: os.loadavg()[0]
    };
}
