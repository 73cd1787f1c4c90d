/**
 * What a Listen widget tells the page about each notification it receives: a DOM `CustomEvent` named
 * `DISPATCH_EVENT`, dispatched on `document`, whose `detail` is a `DispatchEventDetail`. For diagnostics only (the
 * playground's action log, a listener in the browser console): the widget behaves the same whether anyone listens
 * or not, and nothing in it reads the event back. Shared by the widget (src/) and the playground; no DOM, no Node.
 */

/** Name of the event on `document`. */
export const DISPATCH_EVENT = "notifylisten:dispatch";

/**
 * What happened to one notification in one widget:
 * - `ran`: the action started now (a notification, or the trailing or delayed run it joined, when its turn came);
 * - `delayed`: _Delay (ms)_ is set; the action runs when it is over, with the latest payload that arrived meanwhile;
 * - `merged`: joined the run already waiting out the delay (its payload replaces the one before);
 * - `coalesced`: the action's last run has not finished: this notification becomes the ONE trailing run after it
 *   (its payload replaces the one of an earlier coalesced notification);
 * - `ignored-own`: _Ignore own notifications_ is on and `sender` is the current user;
 * - `unknown-action`: no entry of the action list has this action name;
 * - `no-action`: the entry's action is "Do nothing";
 * - `skipped`: the action may not run now (`canExecute` false: not allowed, or its parameters are not available).
 */
export type DispatchOutcome =
    "ran" | "unknown-action" | "no-action" | "ignored-own" | "delayed" | "merged" | "coalesced" | "skipped";

/** One decision of a widget's dispatcher. */
export interface DispatchTrace {
    /** The action name (the event name of the notification). */
    action: string;
    outcome: DispatchOutcome;
    /**
     * The action's latest run on this topic, counted from 1 per widget (0: none yet): for `ran` the run that just
     * started; otherwise the run started last, which a `coalesced` notification waits for.
     */
    run: number;
    /**
     * That run has not shown `isExecuting` yet, so the widget cannot tell whether it is still running: a trailing
     * run waits for `isExecuting` to come and go, or at most the settle time (1 s, docs/widget.md).
     */
    settling: boolean;
    /** The notification's action variables; for `ran`, the ones the action received. */
    args: { sender: string | undefined; changedDate: Date | undefined; data: string | undefined };
}

/** `detail` of the event: which widget decided, on which channel, and what. */
export interface DispatchEventDetail {
    /** The widget's name in the page (the `name` prop Mendix passes, e.g. `listen1`). */
    widget: string;
    /** The channel the widget listens to, `private-<topic>`. */
    channel: string;
    trace: DispatchTrace;
}
