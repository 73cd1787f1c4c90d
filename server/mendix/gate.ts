/**
 * The bound on concurrent access checks. After a restart every open page authorizes its channels again at once,
 * and every browser authorization is a published-REST call into the Mendix runtime: at most `maxConcurrent` run at
 * a time, up to `queueLimit` more wait (first come, first served) for at most `queueTimeoutMs`, and the rest are
 * turned away at once. A check that cannot start is answered by `busy` (the caller makes it a 503 with a spread
 * `Retry-After`, so the pages come back at different times).
 */

export interface GateLimits {
    maxConcurrent: number;
    queueLimit: number;
    queueTimeoutMs: number;
}

/** Why a check did not start: the queue was full, or the check waited `queueTimeoutMs` in it. */
export type Busy = "queue-full" | "queue-timeout";

export interface GateStats {
    running: number;
    waiting: number;
    /** Most checks that ran at once since the start. */
    peak: number;
    /** Checks turned away since the start. */
    refused: number;
}

export interface Gate {
    /** Runs `task` when a slot is free; `busy` answers instead when none frees up in time. */
    run<T>(task: () => Promise<T>, busy: (why: Busy) => T): Promise<T>;
    stats(): GateStats;
}

interface Waiter {
    start(): void;
    timer: ReturnType<typeof setTimeout>;
}

export function createGate(limits: GateLimits): Gate {
    let running = 0;
    let peak = 0;
    let refused = 0;
    /** Insertion-ordered: the first waiter is the oldest. */
    const waiting = new Set<Waiter>();

    const start = <T>(task: () => Promise<T>): Promise<T> => {
        running++;
        peak = Math.max(peak, running);
        let result: Promise<T>;
        try {
            result = task();
        } catch (error) {
            result = Promise.reject(error);
        }
        return result.finally(() => {
            running--;
            const next = waiting.values().next().value;
            if (next !== undefined) {
                waiting.delete(next);
                clearTimeout(next.timer);
                next.start();
            }
        });
    };

    return {
        run(task, busy) {
            if (running < limits.maxConcurrent && waiting.size === 0) {
                return start(task);
            }
            if (waiting.size >= limits.queueLimit) {
                refused++;
                return Promise.resolve(busy("queue-full"));
            }
            return new Promise((resolve, reject) => {
                const waiter: Waiter = {
                    start: () => start(task).then(resolve, reject),
                    timer: setTimeout(() => {
                        waiting.delete(waiter);
                        refused++;
                        resolve(busy("queue-timeout"));
                    }, limits.queueTimeoutMs)
                };
                waiting.add(waiter);
            });
        },
        stats: () => ({ running, waiting: waiting.size, peak, refused })
    };
}
