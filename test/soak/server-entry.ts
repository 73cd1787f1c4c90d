/**
 * Entry of the server process of the soak run: the real `server/main.ts`, plus a probe that answers the soak
 * driver over IPC with this process's own memory (after a full GC when `--expose-gc` is on) and event-loop
 * delay (perf_hooks.monitorEventLoopDelay), so the server is measured alone, not the driver and its clients.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import "../../server/main";

export interface ProbeRequest {
    type: "sample";
    /** Run a full garbage collection before reading memory. */
    gc?: boolean;
    /** Reset the event-loop delay histogram after reading it. */
    resetDelay?: boolean;
}

export interface ProbeSample {
    type: "sample";
    memory: NodeJS.MemoryUsage;
    /** Event-loop lag (delay beyond the 10 ms sampling interval) since the last reset, in milliseconds. */
    delay: { p50: number; p99: number; max: number; mean: number };
}

const RESOLUTION_MS = 10;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();
/** The histogram holds the time between samples; the lag is what exceeds the sampling interval. */
const ms = (nanoseconds: number) => Math.max(0, Math.round((nanoseconds / 1e6 - RESOLUTION_MS) * 100) / 100);
const collect = (globalThis as { gc?: () => void }).gc;

if (process.send !== undefined) {
    process.on("message", (message: ProbeRequest) => {
        if (message?.type !== "sample") {
            return;
        }
        if (message.gc && collect) {
            collect();
            collect();
        }
        const sample: ProbeSample = {
            type: "sample",
            memory: process.memoryUsage(),
            delay: {
                p50: ms(histogram.percentile(50)),
                p99: ms(histogram.percentile(99)),
                max: ms(histogram.max),
                mean: ms(histogram.mean)
            }
        };
        if (message.resetDelay) {
            histogram.reset();
        }
        process.send?.(sample);
    });
    // The IPC channel must not keep the process alive after main.ts decided to exit.
    process.channel?.unref();
}
