/**
 * The playground's action log, as data: what each Listen widget did with each notification. Runs come from the
 * actions the page passes to the widgets (`execute`); everything else from the widget's trace events
 * (protocol/trace.ts): merged into a running or delayed run, skipped as own, no such action, not executable. The page
 * adds what no widget can say: a notification for a topic a widget does not listen to, and one the server refused.
 *
 * Entries are grouped by the object the data view shows: switching objects starts a new group. Pure functions on
 * immutable state, so React can hold it in one `useState`.
 */
import type { DispatchOutcome, DispatchTrace } from "../../protocol/trace";
import type { DemoObject } from "../data";

/**
 * How long a trailing run waits for a run that never shows `isExecuting` (SETTLE_MS of src/utils/dispatcher.ts; the
 * playground cannot import the widget, a test keeps the two equal).
 */
export const WIDGET_SETTLE_MS = 1000;

export type RunStatus = "running" | "done" | "ignored";

/** One execute() of a widget's action. */
export interface RunEntry {
    kind: "run";
    id: number;
    /** The page's handle for `finishRun`. */
    token: number;
    at: Date;
    widget: string;
    action: string;
    objectGuid: string;
    channel: string;
    /** The widget's number for this run (from its trace; undefined until the trace told it). */
    run?: number;
    sender: string | undefined;
    changedDate: string | undefined;
    data: string | undefined;
    status: RunStatus;
    /** Set when the run carries waiting notifications: how many waited, and for what. */
    carried?: { count: number; after: "delay" | number };
}

/** What a notification did instead of starting a run (or what the page knows about it). */
export type NoticeOutcome = Exclude<DispatchOutcome, "ran"> | "not-received" | "refused";

/** A waiting notification's end: the run that got its payload, or why its payload went nowhere. */
export type Fate = { ranAs: number } | { dropped: string };

export interface NoticeEntry {
    kind: "notice";
    id: number;
    at: Date;
    /** The widget it concerns ("" for a notification the server refused). */
    widget: string;
    action: string;
    objectGuid: string | undefined;
    channel: string;
    outcome: NoticeOutcome;
    /** From the trace: the run it waits for (`coalesced`), and whether that run has shown isExecuting. */
    run: number;
    settling: boolean;
    sender: string | undefined;
    data: string | undefined;
    /** For `not-received` and `refused`: why. */
    reason?: string;
    fate?: Fate;
    /** The trace's action variables: the same object in every trace of one notification. */
    args?: DispatchTrace["args"];
}

export type LogEntry = RunEntry | NoticeEntry;

/** The entries while the data view showed one object. */
export interface LogGroup {
    id: number;
    objectGuid: string;
    channel: string;
    at: Date;
    entries: LogEntry[];
}

export interface ActionLogState {
    groups: LogGroup[];
    nextId: number;
}

const WAITING: ReadonlySet<NoticeOutcome> = new Set(["delayed", "merged", "coalesced"]);

/** `private-<topic>` of an object: its key topic with "Topic by key attribute", else `Module.Entity.guid`. */
export function channelOf(object: DemoObject, topicMode: "default" | "key"): string {
    return `private-${topicMode === "key" && object.keyTopic ? object.keyTopic : `${object.entity}.${object.guid}`}`;
}

/** The demo object a channel names, by its default or its key topic. */
export function objectOfChannel(objects: readonly DemoObject[], channel: string): DemoObject | undefined {
    return objects.find(object => channel === channelOf(object, "default") || channel === channelOf(object, "key"));
}

export function createActionLog(objectGuid: string, channel: string, at = new Date()): ActionLogState {
    return { groups: [{ id: 1, objectGuid, channel, at, entries: [] }], nextId: 2 };
}

function isWaiting(entry: LogEntry): entry is NoticeEntry {
    return entry.kind === "notice" && WAITING.has(entry.outcome) && entry.fate === undefined;
}

/** Every entry passed through `change` (same object = unchanged). */
function mapEntries(state: ActionLogState, change: (entry: LogEntry) => LogEntry): ActionLogState {
    return {
        ...state,
        groups: state.groups.map(group => {
            const entries = group.entries.map(change);
            return entries.every((entry, index) => entry === group.entries[index]) ? group : { ...group, entries };
        })
    };
}

/** Adds an entry (its id given here) to the newest group. */
function append(state: ActionLogState, entry: LogEntry): ActionLogState {
    const groups = state.groups.slice();
    const last = groups[groups.length - 1];
    groups[groups.length - 1] = { ...last, entries: [...last.entries, { ...entry, id: state.nextId }] };
    return { groups, nextId: state.nextId + 1 };
}

/**
 * The data view shows another object: a new group. Notifications still waiting end here, because the widget forgets
 * its waiting runs when its topic changes.
 */
export function startGroup(
    state: ActionLogState,
    objectGuid: string,
    channel: string,
    at = new Date()
): ActionLogState {
    const ended = mapEntries(state, entry =>
        isWaiting(entry)
            ? { ...entry, fate: { dropped: "the data view switched objects, so the widget forgot the waiting run" } }
            : entry
    );
    const group: LogGroup = { id: ended.nextId, objectGuid, channel, at, entries: [] };
    return { groups: [...ended.groups, group], nextId: ended.nextId + 1 };
}

/** Empties the log; the current object keeps its (now empty) group. */
export function clearLog(state: ActionLogState): ActionLogState {
    const last = state.groups[state.groups.length - 1];
    return { groups: [{ ...last, entries: [] }], nextId: state.nextId };
}

/** An execute() of a widget's action (its run number follows with the trace). */
export function addRun(state: ActionLogState, run: Omit<RunEntry, "kind" | "id" | "run" | "carried">): ActionLogState {
    return append(state, { kind: "run", id: 0, ...run });
}

/** The run with this token has ended. */
export function finishRun(state: ActionLogState, token: number): ActionLogState {
    return mapEntries(state, entry =>
        entry.kind === "run" && entry.token === token && entry.status === "running"
            ? { ...entry, status: "done" }
            : entry
    );
}

/** The newest entry that matches, searching the newest group first. */
function findLast(state: ActionLogState, match: (entry: LogEntry) => boolean): LogEntry | undefined {
    for (let g = state.groups.length - 1; g >= 0; g--) {
        const entries = state.groups[g].entries;
        for (let e = entries.length - 1; e >= 0; e--) {
            if (match(entries[e])) {
                return entries[e];
            }
        }
    }
    return undefined;
}

/**
 * A widget's trace event. `ran` numbers the run that execute() just logged and settles the notifications that waited
 * for it: the one whose payload it got ran, the others' payloads were replaced (latest wins). A later decision about
 * a waiting notification (the delayed run found the action running, or the trailing run could not start) updates its
 * entry; every other decision is a new entry.
 */
export function applyTrace(
    state: ActionLogState,
    widget: string,
    channel: string,
    trace: DispatchTrace,
    objectGuid: string | undefined,
    at = new Date()
): ActionLogState {
    const sameAction = (entry: LogEntry): boolean => entry.widget === widget && entry.action === trace.action;
    const own = findLast(state, entry => entry.kind === "notice" && entry.args === trace.args && sameAction(entry));
    if (trace.outcome === "ran") {
        const runEntry = findLast(state, entry => entry.kind === "run" && sameAction(entry) && entry.run === undefined);
        const waiting = own !== undefined && isWaiting(own);
        let after: "delay" | number = "delay";
        let count = 0;
        const next = mapEntries(state, entry => {
            if (entry === runEntry) {
                return { ...entry, run: trace.run, channel };
            }
            if (!waiting || !isWaiting(entry) || !sameAction(entry)) {
                return entry;
            }
            count++;
            if (entry === own) {
                after = entry.outcome === "coalesced" ? entry.run : "delay";
                return { ...entry, fate: { ranAs: trace.run } };
            }
            return { ...entry, fate: { dropped: `replaced by a later notification's payload in run #${trace.run}` } };
        });
        if (!waiting || runEntry === undefined) {
            return next;
        }
        return mapEntries(next, entry =>
            entry.id === runEntry.id && entry.kind === "run" ? { ...entry, carried: { count, after } } : entry
        );
    }
    if (own !== undefined && own.kind === "notice") {
        // The same notification decided again: the delayed run met a running action, or the trailing run could not go.
        const stillWaiting = WAITING.has(trace.outcome);
        return mapEntries(state, entry => {
            if (entry === own) {
                return {
                    ...own,
                    outcome: trace.outcome as NoticeOutcome,
                    run: trace.run,
                    settling: trace.settling,
                    fate: stillWaiting ? undefined : { dropped: noticeLabel(trace.outcome as NoticeOutcome) }
                };
            }
            if (!stillWaiting && isWaiting(entry) && sameAction(entry)) {
                return {
                    ...entry,
                    fate: { dropped: `its run did not start (${noticeLabel(trace.outcome as NoticeOutcome)})` }
                };
            }
            return entry;
        });
    }
    return append(state, {
        kind: "notice",
        id: 0,
        at,
        widget,
        action: trace.action,
        objectGuid,
        channel,
        outcome: trace.outcome as NoticeOutcome,
        run: trace.run,
        settling: trace.settling,
        sender: trace.args.sender,
        data: trace.args.data,
        args: trace.args
    });
}

/** What the page knows without the widget: it did not get the notification (other topic, refused subscription). */
export function addNotReceived(
    state: ActionLogState,
    notice: {
        widget: string;
        action: string;
        objectGuid: string | undefined;
        channel: string;
        sender?: string;
        data?: string;
        reason: string;
    },
    at = new Date()
): ActionLogState {
    return append(state, {
        kind: "notice",
        id: 0,
        at,
        outcome: "not-received",
        run: 0,
        settling: false,
        sender: notice.sender,
        data: notice.data,
        ...notice
    });
}

/** A notification the server (or the playground's relay) refused: nobody got it. */
export function addRefused(
    state: ActionLogState,
    notice: { action: string; objectGuid: string | undefined; channel: string; data?: string; reason: string },
    at = new Date()
): ActionLogState {
    return append(state, {
        kind: "notice",
        id: 0,
        at,
        widget: "",
        outcome: "refused",
        run: 0,
        settling: false,
        sender: undefined,
        data: notice.data,
        ...notice
    });
}

/** Short label of an outcome, for the tag. */
export function noticeLabel(outcome: NoticeOutcome): string {
    switch (outcome) {
        case "coalesced":
            return "merged into the trailing run";
        case "delayed":
            return "delayed";
        case "merged":
            return "merged into the delayed run";
        case "ignored-own":
            return "skipped: own notification";
        case "unknown-action":
            return "no such action";
        case "no-action":
            return "action is Do nothing";
        case "skipped":
            return "not executable";
        case "not-received":
            return "not received";
        case "refused":
            return "refused";
    }
}

/** What the page knows about the widget it explains a notice for. */
export interface ExplainContext {
    actions: readonly string[];
    delay: number;
    userName: string | undefined;
}

/** One sentence on why a notice happened and what comes next. */
export function explainNotice(entry: NoticeEntry, context: ExplainContext): string {
    switch (entry.outcome) {
        case "coalesced":
            return entry.settling
                ? `Run #${entry.run} has not shown isExecuting yet, so this waits as the ONE trailing run: until ` +
                      `isExecuting comes and goes, at most ${WIDGET_SETTLE_MS / 1000} s (the settle time). The latest ` +
                      `waiting payload runs.`
                : `Run #${entry.run} is still executing: this waits as the ONE trailing run. The latest waiting payload runs.`;
        case "delayed":
            return `Delay (ms) is ${context.delay}: the action runs when it is over, with the latest payload that arrived meanwhile.`;
        case "merged":
            return "Joined the run waiting out the delay: only the latest payload runs.";
        case "ignored-own":
            return `Sent by ${entry.sender ?? "you"}, the signed-in user, and Ignore own notifications is on.`;
        case "unknown-action":
            return `The action list has ${context.actions.map(name => `"${name}"`).join(", ")}, not "${entry.action}": nothing runs.`;
        case "no-action":
            return `The entry "${entry.action}" is set to Do nothing.`;
        case "skipped":
            return "The action may not run now (canExecute is false: not allowed, or its parameters are not available).";
        case "not-received":
        case "refused":
            return entry.reason ?? "";
    }
}

/** What became of a waiting notification. */
export function describeFate(fate: Fate): string {
    return "ranAs" in fate ? `its payload ran in run #${fate.ranAs}` : `payload dropped: ${fate.dropped}`;
}

/** The entries a Notify click caused on this page: since `since`, for `channel`, plus the server's refusal. */
export function entriesSince(state: ActionLogState, since: Date, channel: string): LogEntry[] {
    return state.groups.flatMap(group => group.entries).filter(entry => entry.at >= since && entry.channel === channel);
}

export interface SendSummary {
    tone: "ok" | "warn";
    text: string;
}

/** One line per Notify click: what this page's widgets did with it. */
export function summarizeSend(entries: readonly LogEntry[], widgets: readonly string[]): SendSummary {
    if (entries.some(entry => entry.kind === "notice" && entry.outcome === "refused")) {
        return { tone: "warn", text: "Nobody got it: the server refused the notification." };
    }
    const parts: string[] = [];
    let anyRun = false;
    for (const widget of widgets) {
        const mine = entries.filter(entry => entry.widget === widget);
        const runs = mine.filter(entry => entry.kind === "run").length;
        const counts = new Map<string, number>();
        for (const entry of mine) {
            if (entry.kind === "notice") {
                counts.set(noticeLabel(entry.outcome), (counts.get(noticeLabel(entry.outcome)) ?? 0) + 1);
            }
        }
        const waiting = mine.some(entry => entry.kind === "notice" && WAITING.has(entry.outcome));
        anyRun ||= runs > 0 || waiting;
        const said = [
            ...(runs > 0 ? [`ran ${runs === 1 ? "once" : `${runs} times`}`] : []),
            ...[...counts].map(([label, count]) => (count === 1 ? label : `${count}× ${label}`))
        ];
        parts.push(`${widget}: ${said.length ? said.join(", ") : "nothing yet"}`);
    }
    return { tone: anyRun ? "ok" : "warn", text: parts.join(" · ") };
}
