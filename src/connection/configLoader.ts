import type { ListenError } from "../utils/errors";
import { retryDelay } from "./backoff";
import type { ClientConfig } from "./clientConfig";
import type { ConnectionProblem } from "./status";

export interface ConfigLoaderHooks {
    /** `GET <server>/rest/pusher/key` (`fetchClientConfig`); rejects with a ListenError. */
    fetchConfig(): Promise<ClientConfig>;
    /** Runs when a scheduled load is due, before it starts: false cancels it (nobody needs the configuration). */
    beforeScheduledLoad(): boolean;
    onConfig(config: ClientConfig): void;
    /** A load failed: `problem` says why and whether it is tried again. */
    onProblem(): void;
}

export interface ConfigLoader {
    /** Loads the client configuration at once, or after `delayMs`; replaces a load scheduled before. */
    load(delayMs?: number): void;
    /** Cancels a scheduled load. */
    cancel(): void;
    /** Stops for good: cancels a scheduled load and ignores the answer of one under way. */
    stop(): void;
    /** Why the last load failed ("retrying" with the delay, or "error"), until a load succeeds. */
    readonly problem: ConnectionProblem | undefined;
    /** Milliseconds until the scheduled load, when one is scheduled. */
    readonly nextLoadInMs: number | undefined;
}

/**
 * Loads the client configuration of one server. A temporary failure (network, 5xx, 429) is tried again with
 * backoff, honouring the server's `Retry-After`; any other failure stays until something calls `load` again.
 */
export function createConfigLoader(hooks: ConfigLoaderHooks): ConfigLoader {
    let problem: ConnectionProblem | undefined;
    /** Failed loads in a row. */
    let failures = 0;
    let scheduled: { timer: ReturnType<typeof setTimeout>; inMs: number } | undefined;
    let stopped = false;

    const loadNow = (): void => {
        hooks.fetchConfig().then(
            config => {
                if (stopped) {
                    return;
                }
                failures = 0;
                problem = undefined;
                hooks.onConfig(config);
            },
            (error: ListenError) => {
                if (stopped) {
                    return;
                }
                if (error.retryable) {
                    const delayMs = retryDelay(error, failures);
                    failures++;
                    problem = { state: "retrying", error, retryInMs: delayMs };
                    schedule(delayMs);
                } else {
                    problem = { state: "error", error };
                }
                hooks.onProblem();
            }
        );
    };

    const schedule = (inMs: number): void => {
        cancel();
        const timer = setTimeout(() => {
            scheduled = undefined;
            if (hooks.beforeScheduledLoad()) {
                loadNow();
            }
        }, inMs);
        scheduled = { timer, inMs };
    };

    const cancel = (): void => {
        if (scheduled !== undefined) {
            clearTimeout(scheduled.timer);
            scheduled = undefined;
        }
    };

    return {
        load(delayMs = 0) {
            if (stopped) {
                return;
            }
            if (delayMs > 0) {
                schedule(delayMs);
            } else {
                cancel();
                loadNow();
            }
        },
        cancel,
        stop() {
            stopped = true;
            cancel();
        },
        get problem() {
            return problem;
        },
        get nextLoadInMs() {
            return scheduled?.inMs;
        }
    };
}
