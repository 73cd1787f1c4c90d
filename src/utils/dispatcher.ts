import { parsePayload } from "../../protocol";
import type { DispatchOutcome, DispatchTrace } from "../../protocol/trace";

export type { DispatchOutcome, DispatchTrace };

/** Action variables every Listen action receives (every key present; values may be undefined). */
export interface ListenActionArgs {
    sender: string | undefined;
    changedDate: Date | undefined;
    data: string | undefined;
}

/** The parts of a Mendix `ActionValue` the dispatcher uses. */
export interface DispatchableAction {
    readonly canExecute: boolean;
    readonly isExecuting: boolean;
    execute(args: ListenActionArgs): void;
}

/**
 * The configured entry for an action name: `undefined` when no entry has that name (the event is not for this
 * widget); `{ action: undefined }` when the entry's action is "Do nothing".
 */
export type ActionLookup = (name: string) => { action: DispatchableAction | undefined } | undefined;

export interface DispatcherOptions {
    /** Milliseconds to wait before running the action; notifications arriving meanwhile join that run. */
    delayMs: number;
    /** Skip notifications whose `sender` equals the current user name. */
    ignoreOwn: boolean;
    getUserName(): string | undefined;
    /** Optional: told every decision, after it was carried out (diagnostics; protocol/trace.ts). */
    trace?(decision: DispatchTrace): void;
}

/**
 * How long to wait for a started action to show `isExecuting` before treating it as finished. Mendix sets the flag
 * with the next render; a very fast nanoflow may finish before any render shows it. Then notifications arriving
 * meanwhile wait this long for their ONE trailing run. Fixed on purpose (docs/widget.md, "When the action runs"): a
 * shorter wait could call execute() while Mendix still runs the action, and Mendix ignores that call.
 */
export const SETTLE_MS = 1000;

interface Slot {
    /** idle; started = execute() called, isExecuting not yet seen; executing = isExecuting seen. */
    phase: "idle" | "started" | "executing";
    /** How many times the action ran (for the trace: which run a notification waits for). */
    runs: number;
    /** The ONE trailing run waiting for the current one to finish (latest notification wins). */
    pending?: ListenActionArgs;
    /** The run waiting out the delay (latest notification wins), and its timer. */
    delayed?: ListenActionArgs;
    delayTimer?: ReturnType<typeof setTimeout>;
    settleTimer?: ReturnType<typeof setTimeout>;
}

/**
 * Action variables from a payload. `changedDate` becomes a Date from either historic form (ISO 8601, or epoch
 * milliseconds as the Mendix 7 Java action sends it); undefined when missing or not a date.
 */
export function toActionArgs(raw: unknown): ListenActionArgs {
    const payload = parsePayload(raw);
    return { sender: payload.sender, changedDate: payload.changedDate, data: payload.data };
}

export interface Dispatcher {
    /** Runs (or delays, or coalesces) the action named `actionName` for a notification with payload `raw`. */
    dispatch(actionName: string, raw: unknown): DispatchOutcome;
    /** Re-reads the actions (after new props): a finished execution releases the trailing run. */
    update(): void;
    /** Forgets pending and delayed runs and stops all timers (topic change, unmount). */
    reset(): void;
}

/**
 * Runs a widget's actions for incoming notifications: event name = action name. While an action is executing,
 * further notifications for it coalesce into ONE trailing run (never a queue). `update()` must be called whenever
 * the widget receives new props, so finished executions are noticed.
 */
export function createDispatcher(lookup: ActionLookup, getOptions: () => DispatcherOptions): Dispatcher {
    const slots = new Map<string, Slot>();

    /** Tells the optional trace hook what was decided for a notification, and returns the outcome. */
    const report = (
        action: string,
        outcome: DispatchOutcome,
        args: ListenActionArgs,
        slot: Slot | undefined
    ): DispatchOutcome => {
        getOptions().trace?.({ action, outcome, run: slot?.runs ?? 0, settling: slot?.phase === "started", args });
        return outcome;
    };

    /** The run ended (or is forgotten): the trailing run, if any, goes now. */
    const release = (name: string, slot: Slot): void => {
        const pending = slot.pending;
        clearTimeout(slot.settleTimer);
        slot.phase = "idle";
        slot.pending = undefined;
        if (pending !== undefined) {
            gate(name, slot, pending);
        }
    };

    /** Runs the action now, or keeps `args` as the trailing run while it is still executing. */
    const decide = (name: string, slot: Slot, args: ListenActionArgs): DispatchOutcome => {
        const action = lookup(name)?.action;
        if (action === undefined) {
            return "no-action";
        }
        if (action.isExecuting) {
            clearTimeout(slot.settleTimer);
            slot.phase = "executing";
        }
        if (slot.phase !== "idle") {
            slot.pending = args;
            return "coalesced";
        }
        if (!action.canExecute) {
            console.warn(
                `Listen: the action for "${name}" cannot run now (it is not allowed or its parameters are not available); the notification is skipped.`
            );
            return "skipped";
        }
        action.execute(args);
        slot.runs++;
        slot.phase = "started";
        slot.settleTimer = setTimeout(() => {
            if (slot.phase === "started") {
                release(name, slot);
            }
        }, SETTLE_MS);
        return "ran";
    };

    /** `decide`, and the decision reported. */
    const gate = (name: string, slot: Slot, args: ListenActionArgs): DispatchOutcome =>
        report(name, decide(name, slot, args), args, slot);

    /** The slot of an action name, created with its first notification. */
    const slotOf = (name: string): Slot => {
        let slot = slots.get(name);
        if (slot === undefined) {
            slot = { phase: "idle", runs: 0 };
            slots.set(name, slot);
        }
        return slot;
    };

    /** Runs the action after `delayMs`; notifications arriving meanwhile join that run (the latest one wins). */
    const delay = (name: string, slot: Slot, args: ListenActionArgs, delayMs: number): DispatchOutcome => {
        const waiting = slot.delayed !== undefined;
        slot.delayed = args;
        if (waiting) {
            return report(name, "merged", args, slot);
        }
        slot.delayTimer = setTimeout(() => {
            const delayed = slot.delayed;
            slot.delayed = undefined;
            if (delayed !== undefined) {
                gate(name, slot, delayed);
            }
        }, delayMs);
        return report(name, "delayed", args, slot);
    };

    return {
        dispatch(actionName, raw) {
            const args = toActionArgs(raw);
            if (lookup(actionName) === undefined) {
                return report(actionName, "unknown-action", args, undefined);
            }
            const options = getOptions();
            if (options.ignoreOwn && args.sender && args.sender === options.getUserName()) {
                return report(actionName, "ignored-own", args, slots.get(actionName));
            }
            const slot = slotOf(actionName);
            if (options.delayMs <= 0) {
                return gate(actionName, slot, args);
            }
            return delay(actionName, slot, args, options.delayMs);
        },

        update() {
            slots.forEach((slot, name) => {
                if (slot.phase === "idle") {
                    return;
                }
                const action = lookup(name)?.action;
                if (action === undefined) {
                    // The entry's action became "Do nothing": nothing to wait for, nothing to run.
                    slot.pending = undefined;
                    release(name, slot);
                } else if (action.isExecuting) {
                    clearTimeout(slot.settleTimer);
                    slot.phase = "executing";
                } else if (slot.phase === "executing") {
                    release(name, slot);
                }
            });
        },

        reset() {
            for (const slot of slots.values()) {
                clearTimeout(slot.delayTimer);
                clearTimeout(slot.settleTimer);
            }
            slots.clear();
        }
    };
}
