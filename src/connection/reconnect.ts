import { backoffDelay } from "./backoff";

/** First delay of the connection's own reconnect after the socket was lost; doubles per attempt up to the cap. */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_CAP_MS = 15_000;

/** Failed reconnect attempts (about 3.5 s of outage) before the widgets show "reconnecting" instead of "connecting". */
export const RECONNECT_ATTEMPTS_BEFORE_NOTICE = 3;

/**
 * Delay before reconnect attempt `attempt` (from 0): 0.5 s, 1 s, 2 s, 4 s … capped at 15 s, each spread by ±25 %
 * (`random` in [0, 1)) so that the pages of a restarted server do not all come back in the same millisecond.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
    const nominal = backoffDelay(attempt, RECONNECT_BASE_MS, RECONNECT_CAP_MS);
    const jitter = 0.75 + 0.5 * random();
    return Math.min(RECONNECT_CAP_MS, Math.round(nominal * jitter));
}

/**
 * idle: the socket is fine, or pusher-js gave up on purpose: nothing to do.
 * lost: the socket was lost and is not connected again; `attempts` restarts so far, `next` the armed check (none
 * while nobody listens).
 */
type ReconnectState =
    | { phase: "idle" }
    | { phase: "lost"; attempts: number; next?: { timer: ReturnType<typeof setTimeout>; inMs: number } };

export interface ReconnectHooks {
    /** A number in [0, 1) for the jitter. */
    random(): number;
    /** Whether a check may be armed: there is a socket and somebody listens on it. */
    canCheck(): boolean;
    isConnected(): boolean;
    /** Starts the connection attempt over (`Socket.restart`). */
    restart(): void;
    /** A restart armed the next check without a state change of the socket: the widgets' status may have changed. */
    onChange(): void;
}

export interface Reconnect {
    /** The socket was lost: check it with backoff (arms the first check unless one is armed). */
    socketLost(): void;
    /** Arms the next check if the socket is lost and none is armed (a channel came back, pusher-js tries again). */
    resume(): boolean;
    /** Nobody listens any more: disarm the check, but remember that the socket is lost and the attempts made. */
    pause(): void;
    /** The socket is connected, pusher-js gave up on purpose, or a new socket replaces it: forget the loss. */
    stop(): void;
    /** Reconnect attempts since the socket was lost; 0 when it is not lost. */
    readonly attempts: number;
    /** Milliseconds until the armed check, when one is armed. */
    readonly nextCheckInMs: number | undefined;
}

/**
 * The connection's own reconnect. pusher-js reconnects by itself, but when its first try meets a closed port (a
 * server restart) it waits out a 15 s transport timeout before the next one. So once the socket is lost this checks
 * with backoff (`reconnectDelay`) and, if pusher-js is still not connected by then, starts the attempt over; pusher-js
 * subscribes every channel again once connected. A socket that comes back by itself ends the checks.
 */
export function createReconnect(hooks: ReconnectHooks): Reconnect {
    let state: ReconnectState = { phase: "idle" };

    const check = (): void => {
        if (state.phase !== "lost") {
            return;
        }
        state.next = undefined;
        if (!hooks.canCheck()) {
            return;
        }
        if (hooks.isConnected()) {
            // pusher-js made it by itself.
            stop();
            return;
        }
        state.attempts++;
        hooks.restart();
        // The restart's `connect()` reports "connecting", which arms the next check through `resume()`; should a client
        // not report it, arm the check here.
        if (resume()) {
            hooks.onChange();
        }
    };

    const resume = (): boolean => {
        if (state.phase !== "lost" || state.next !== undefined || !hooks.canCheck()) {
            return false;
        }
        const inMs = reconnectDelay(state.attempts, hooks.random);
        state.next = { inMs, timer: setTimeout(check, inMs) };
        return true;
    };

    const pause = (): void => {
        if (state.phase === "lost" && state.next !== undefined) {
            clearTimeout(state.next.timer);
            state.next = undefined;
        }
    };

    const stop = (): void => {
        pause();
        state = { phase: "idle" };
    };

    return {
        socketLost() {
            if (state.phase === "idle") {
                state = { phase: "lost", attempts: 0 };
            }
            resume();
        },
        resume,
        pause,
        stop,
        get attempts() {
            return state.phase === "lost" ? state.attempts : 0;
        },
        get nextCheckInMs() {
            return state.phase === "lost" ? state.next?.inMs : undefined;
        }
    };
}
