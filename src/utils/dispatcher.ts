import { parsePayload } from "./protocol";

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
}

/** What happened to one notification (for logs and tests). */
export type DispatchOutcome =
    "ran" | "unknown-action" | "no-action" | "ignored-own" | "delayed" | "merged" | "coalesced" | "skipped";

/**
 * How long to wait for a started action to show `isExecuting` before treating it as finished. Mendix sets the flag
 * with the next render; a very fast nanoflow may finish before any render shows it.
 */
export const SETTLE_MS = 1000;

interface Slot {
    /** idle; started = execute() called, isExecuting not yet seen; executing = isExecuting seen. */
    phase: "idle" | "started" | "executing";
    /** The ONE trailing run waiting for the current one to finish (latest notification wins). */
    pending?: ListenActionArgs;
    delayTimer?: ReturnType<typeof setTimeout>;
    delayedArgs?: ListenActionArgs;
    settleTimer?: ReturnType<typeof setTimeout>;
}

/** Action variables from a payload; `changedDate` becomes a Date (undefined when missing or not a date). */
export function toActionArgs(raw: unknown): ListenActionArgs {
    const payload = parsePayload(raw);
    let changedDate: Date | undefined;
    if (payload.changedDate !== undefined) {
        const date = new Date(payload.changedDate);
        changedDate = Number.isNaN(date.getTime()) ? undefined : date;
    }
    return { sender: payload.sender, changedDate, data: payload.data };
}

/**
 * Runs a widget's actions for incoming notifications: event name = action name. While an action is executing,
 * further notifications for it coalesce into ONE trailing run (never a queue). `update()` must be called whenever
 * the widget receives new props, so finished executions are noticed.
 */
export class Dispatcher {
    private readonly slots = new Map<string, Slot>();

    constructor(
        private readonly lookup: ActionLookup,
        private readonly getOptions: () => DispatcherOptions
    ) {}

    dispatch(actionName: string, raw: unknown): DispatchOutcome {
        const entry = this.lookup(actionName);
        if (entry === undefined) {
            return "unknown-action";
        }
        const options = this.getOptions();
        const args = toActionArgs(raw);
        if (options.ignoreOwn && args.sender !== undefined && args.sender !== "") {
            const user = options.getUserName();
            if (user !== undefined && user === args.sender) {
                return "ignored-own";
            }
        }
        const slot = this.slot(actionName);
        if (options.delayMs > 0) {
            if (slot.delayTimer !== undefined) {
                slot.delayedArgs = args;
                return "merged";
            }
            slot.delayedArgs = args;
            slot.delayTimer = setTimeout(() => {
                slot.delayTimer = undefined;
                const delayed = slot.delayedArgs;
                slot.delayedArgs = undefined;
                if (delayed !== undefined) {
                    this.gate(actionName, slot, delayed);
                }
            }, options.delayMs);
            return "delayed";
        }
        return this.gate(actionName, slot, args);
    }

    /** Re-reads the actions (after new props): a finished execution releases the trailing run. */
    update(): void {
        for (const [name, slot] of this.slots) {
            if (slot.phase === "idle") {
                continue;
            }
            const action = this.lookup(name)?.action;
            if (action === undefined) {
                this.clearSettle(slot);
                slot.phase = "idle";
                slot.pending = undefined;
                continue;
            }
            if (action.isExecuting) {
                this.clearSettle(slot);
                slot.phase = "executing";
            } else if (slot.phase === "executing") {
                slot.phase = "idle";
                this.flush(name, slot);
            }
        }
    }

    /** Forgets pending and delayed runs and stops all timers (topic change, unmount). */
    reset(): void {
        for (const slot of this.slots.values()) {
            if (slot.delayTimer !== undefined) {
                clearTimeout(slot.delayTimer);
            }
            this.clearSettle(slot);
        }
        this.slots.clear();
    }

    private slot(name: string): Slot {
        let slot = this.slots.get(name);
        if (slot === undefined) {
            slot = { phase: "idle" };
            this.slots.set(name, slot);
        }
        return slot;
    }

    private gate(name: string, slot: Slot, args: ListenActionArgs): DispatchOutcome {
        const action = this.lookup(name)?.action;
        if (action === undefined) {
            return "no-action";
        }
        if (action.isExecuting && slot.phase !== "executing") {
            this.clearSettle(slot);
            slot.phase = "executing";
        }
        if (slot.phase !== "idle") {
            slot.pending = args;
            return "coalesced";
        }
        return this.run(name, slot, action, args);
    }

    private run(name: string, slot: Slot, action: DispatchableAction, args: ListenActionArgs): DispatchOutcome {
        if (!action.canExecute) {
            console.warn(
                `Listen: the action for "${name}" cannot run now (it is not allowed or its parameters are not available); the notification is skipped.`
            );
            return "skipped";
        }
        action.execute({ sender: args.sender, changedDate: args.changedDate, data: args.data });
        slot.phase = "started";
        this.clearSettle(slot);
        slot.settleTimer = setTimeout(() => {
            slot.settleTimer = undefined;
            if (slot.phase === "started") {
                slot.phase = "idle";
                this.flush(name, slot);
            }
        }, SETTLE_MS);
        return "ran";
    }

    private flush(name: string, slot: Slot): void {
        const pending = slot.pending;
        if (pending === undefined) {
            return;
        }
        slot.pending = undefined;
        this.gate(name, slot, pending);
    }

    private clearSettle(slot: Slot): void {
        if (slot.settleTimer !== undefined) {
            clearTimeout(slot.settleTimer);
            slot.settleTimer = undefined;
        }
    }
}
