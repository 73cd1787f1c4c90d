// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { actionValue, withFlags, type RecordedAction } from "../../__tests__/builders";
import { createDispatcher, SETTLE_MS, toActionArgs, type DispatchTrace, type DispatcherOptions } from "../dispatcher";

const payload = {
    entity: "Sales.Order",
    guid: "281474976710657",
    changedDate: "2026-11-24T10:00:00.000Z",
    sender: "john",
    data: "status=shipped"
};

/** A dispatcher over a mutable action table, like the widget's props between renders. */
function setup(options: Partial<DispatcherOptions> = {}) {
    const actions = new Map<string, RecordedAction | undefined>();
    const current: DispatcherOptions = { delayMs: 0, ignoreOwn: false, getUserName: () => "tester", ...options };
    const dispatcher = createDispatcher(
        name => (actions.has(name) ? { action: actions.get(name) } : undefined),
        () => current
    );
    return { actions, options: current, dispatcher };
}

describe("toActionArgs", () => {
    it("passes sender, changedDate (as a Date) and data, every key present", () => {
        const args = toActionArgs(payload);
        expect(args).toEqual({
            sender: "john",
            changedDate: new Date("2026-11-24T10:00:00.000Z"),
            data: "status=shipped"
        });
        expect(args.changedDate).toBeInstanceOf(Date);
    });

    it("keeps absent values undefined but the keys present", () => {
        const args = toActionArgs({ entity: "A.B", guid: "1", changedDate: "not a date" });
        expect(Object.keys(args).sort()).toEqual(["changedDate", "data", "sender"]);
        expect(args).toEqual({ sender: undefined, changedDate: undefined, data: undefined });
    });

    it("reads the Mendix 7 Java Notify payload verbatim: changedDate in epoch milliseconds as digits", () => {
        const historic =
            '{"changedDate":"1764583200000","sender":"MxAdmin","guid":"281474976710657","entity":"Sales.Order","actionName":"refresh"}';
        for (const raw of [historic, JSON.parse(historic) as unknown]) {
            const args = toActionArgs(raw);
            expect(args).toEqual({ sender: "MxAdmin", changedDate: new Date(1764583200000), data: undefined });
            expect(args.changedDate?.toISOString()).toBe("2025-12-01T10:00:00.000Z");
        }
        expect(toActionArgs({ changedDate: 1764583200000 }).changedDate).toEqual(new Date(1764583200000));
    });

    it("reads payloads that arrive as JSON strings", () => {
        expect(toActionArgs(JSON.stringify(payload)).sender).toBe("john");
    });
});

describe("Dispatcher", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
        vi.restoreAllMocks();
    });

    it("runs the action whose name equals the event name, with the payload as action variables", () => {
        const { actions, dispatcher } = setup();
        const refresh = actionValue();
        const other = actionValue();
        actions.set("refresh", refresh);
        actions.set("other", other);

        expect(dispatcher.dispatch("refresh", payload)).toBe("ran");

        expect(refresh.calls).toEqual([
            { sender: "john", changedDate: new Date("2026-11-24T10:00:00.000Z"), data: "status=shipped" }
        ]);
        expect(other.calls).toEqual([]);
    });

    it("ignores events without a matching action name and actions set to do nothing", () => {
        const { actions, dispatcher } = setup();
        actions.set("nothing", undefined);
        expect(dispatcher.dispatch("unknown", payload)).toBe("unknown-action");
        expect(dispatcher.dispatch("nothing", payload)).toBe("no-action");
    });

    it("coalesces a burst of 50 events while the action executes into exactly ONE trailing run", () => {
        const { actions, dispatcher } = setup();
        const refresh = actionValue();
        actions.set("refresh", refresh);

        dispatcher.dispatch("refresh", { ...payload, data: "first" });
        // The Mendix client re-renders with isExecuting = true.
        actions.set("refresh", withFlags(refresh, { isExecuting: true }));
        dispatcher.update();
        const outcomes = Array.from({ length: 50 }, (_, i) =>
            dispatcher.dispatch("refresh", { ...payload, data: `burst ${i}` })
        );
        expect(new Set(outcomes)).toEqual(new Set(["coalesced"]));
        expect(refresh.calls).toHaveLength(1);

        // Execution ends: exactly one trailing run, with the latest payload.
        actions.set("refresh", withFlags(refresh, { isExecuting: false }));
        dispatcher.update();
        expect(refresh.calls.map(call => call.data)).toEqual(["first", "burst 49"]);

        // Later updates run nothing more.
        actions.set("refresh", withFlags(refresh, { isExecuting: true }));
        dispatcher.update();
        actions.set("refresh", withFlags(refresh, { isExecuting: false }));
        dispatcher.update();
        vi.advanceTimersByTime(10 * SETTLE_MS);
        expect(refresh.calls).toHaveLength(2);
    });

    it("coalesces a synchronous burst that arrives before the client re-renders", () => {
        const { actions, dispatcher } = setup();
        const refresh = actionValue();
        actions.set("refresh", refresh);

        for (let i = 0; i < 50; i++) {
            dispatcher.dispatch("refresh", { ...payload, data: String(i) });
        }
        expect(refresh.calls).toHaveLength(1);

        actions.set("refresh", withFlags(refresh, { isExecuting: true }));
        dispatcher.update();
        actions.set("refresh", withFlags(refresh, { isExecuting: false }));
        dispatcher.update();
        expect(refresh.calls.map(call => call.data)).toEqual(["0", "49"]);
    });

    it("treats a started action that never shows isExecuting as finished after the settle time", () => {
        const { actions, dispatcher } = setup();
        const refresh = actionValue();
        actions.set("refresh", refresh);

        dispatcher.dispatch("refresh", payload);
        dispatcher.dispatch("refresh", { ...payload, data: "second" });
        expect(refresh.calls).toHaveLength(1);
        vi.advanceTimersByTime(SETTLE_MS - 1);
        expect(refresh.calls).toHaveLength(1);
        vi.advanceTimersByTime(1);
        expect(refresh.calls.map(call => call.data)).toEqual(["status=shipped", "second"]);
    });

    it("waits for an execution started elsewhere (e.g. a button) before running once", () => {
        const { actions, dispatcher } = setup();
        const refresh = actionValue({ isExecuting: true });
        actions.set("refresh", refresh);

        expect(dispatcher.dispatch("refresh", payload)).toBe("coalesced");
        expect(refresh.calls).toHaveLength(0);
        actions.set("refresh", withFlags(refresh, { isExecuting: false }));
        dispatcher.update();
        expect(refresh.calls).toHaveLength(1);
    });

    it("skips with a console warning when the action cannot execute", () => {
        const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
        const { actions, dispatcher } = setup();
        const refresh = actionValue({ canExecute: false });
        actions.set("refresh", refresh);

        expect(dispatcher.dispatch("refresh", payload)).toBe("skipped");
        expect(refresh.calls).toHaveLength(0);
        expect(warn).toHaveBeenCalledWith(expect.stringContaining('"refresh" cannot run now'));
    });

    it("ignores own notifications only when enabled and the sender equals the current user", () => {
        const { actions, options, dispatcher } = setup({ ignoreOwn: true, getUserName: () => "john" });
        const refresh = actionValue();
        actions.set("refresh", refresh);

        expect(dispatcher.dispatch("refresh", payload)).toBe("ignored-own");
        expect(dispatcher.dispatch("refresh", { ...payload, sender: "mary" })).toBe("ran");
        vi.advanceTimersByTime(SETTLE_MS);
        options.ignoreOwn = false;
        expect(dispatcher.dispatch("refresh", payload)).toBe("ran");
        expect(refresh.calls.map(call => call.sender)).toEqual(["mary", "john"]);
    });

    it("does not ignore anything when the current user name is unknown or the sender is empty", () => {
        const { actions, dispatcher } = setup({ ignoreOwn: true, getUserName: () => undefined });
        const refresh = actionValue();
        actions.set("refresh", refresh);
        expect(dispatcher.dispatch("refresh", payload)).toBe("ran");
    });

    it("waits the configured delay and merges notifications arriving meanwhile into that run", () => {
        const { actions, dispatcher } = setup({ delayMs: 500 });
        const refresh = actionValue();
        actions.set("refresh", refresh);

        expect(dispatcher.dispatch("refresh", { ...payload, data: "1" })).toBe("delayed");
        vi.advanceTimersByTime(200);
        expect(dispatcher.dispatch("refresh", { ...payload, data: "2" })).toBe("merged");
        vi.advanceTimersByTime(299);
        expect(refresh.calls).toHaveLength(0);
        vi.advanceTimersByTime(1);
        expect(refresh.calls.map(call => call.data)).toEqual(["2"]);
    });

    it("reads the action at run time, so a delayed run uses the latest props", () => {
        const { actions, dispatcher } = setup({ delayMs: 100 });
        const before = actionValue({ canExecute: false });
        actions.set("refresh", before);
        dispatcher.dispatch("refresh", payload);
        actions.set("refresh", withFlags(before, { canExecute: true }));
        vi.advanceTimersByTime(100);
        expect(before.calls).toHaveLength(1);
    });

    it("reset() cancels delayed and trailing runs and leaves no timers", () => {
        const { actions, dispatcher } = setup({ delayMs: 100 });
        const refresh = actionValue();
        actions.set("refresh", refresh);
        dispatcher.dispatch("refresh", payload);
        dispatcher.reset();
        expect(vi.getTimerCount()).toBe(0);
        vi.advanceTimersByTime(1000);
        expect(refresh.calls).toHaveLength(0);
    });
});

describe("Dispatcher trace", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
        vi.restoreAllMocks();
    });

    /** A dispatcher whose trace hook records every decision as "outcome run data" (plus "settling"). */
    function traced(options: Partial<DispatcherOptions> = {}) {
        const traces: DispatchTrace[] = [];
        const context = setup({ ...options, trace: decision => traces.push(decision) });
        const lines = (): string[] =>
            traces.map(
                trace =>
                    `${trace.action} ${trace.outcome} #${trace.run} ${trace.args.data ?? "-"}` +
                    (trace.settling && trace.outcome !== "ran" ? " settling" : "")
            );
        return { ...context, traces, lines };
    }

    it("reports each notification once, and the trailing run when it starts, naming the run it waits for", () => {
        const { actions, dispatcher, lines } = traced();
        const refresh = actionValue();
        actions.set("refresh", refresh);

        dispatcher.dispatch("refresh", { ...payload, data: "a" });
        actions.set("refresh", withFlags(refresh, { isExecuting: true }));
        dispatcher.update();
        dispatcher.dispatch("refresh", { ...payload, data: "b" });
        dispatcher.dispatch("refresh", { ...payload, data: "c" });
        actions.set("refresh", withFlags(refresh, { isExecuting: false }));
        dispatcher.update();

        expect(lines()).toEqual([
            "refresh ran #1 a",
            "refresh coalesced #1 b",
            "refresh coalesced #1 c",
            // The trailing run carries the latest payload; b's was dropped.
            "refresh ran #2 c"
        ]);
        expect(refresh.calls.map(call => call.data)).toEqual(["a", "c"]);
    });

    it("says when the run waited for has not shown isExecuting: the trailing run then waits the settle time", () => {
        const { actions, dispatcher, lines } = traced();
        actions.set("refresh", actionValue());

        dispatcher.dispatch("refresh", { ...payload, data: "a" });
        dispatcher.dispatch("refresh", { ...payload, data: "b" });
        expect(lines()).toEqual(["refresh ran #1 a", "refresh coalesced #1 b settling"]);
        vi.advanceTimersByTime(SETTLE_MS);
        expect(lines().at(-1)).toBe("refresh ran #2 b");
    });

    it("reports unknown action names, own notifications, Do nothing and actions that cannot run", () => {
        vi.spyOn(console, "warn").mockImplementation(() => undefined);
        const { actions, dispatcher, lines } = traced({ ignoreOwn: true, getUserName: () => "john" });
        actions.set("nothing", undefined);
        actions.set("locked", actionValue({ canExecute: false }));
        actions.set("refresh", actionValue());

        dispatcher.dispatch("typo", { ...payload, sender: "mary", data: "1" });
        dispatcher.dispatch("refresh", { ...payload, sender: "john", data: "2" });
        dispatcher.dispatch("nothing", { ...payload, sender: "mary", data: "3" });
        dispatcher.dispatch("locked", { ...payload, sender: "mary", data: "4" });

        expect(lines()).toEqual([
            "typo unknown-action #0 1",
            "refresh ignored-own #0 2",
            "nothing no-action #0 3",
            "locked skipped #0 4"
        ]);
    });

    it("reports the delayed run, the notifications merged into it, and its run", () => {
        const { actions, dispatcher, lines } = traced({ delayMs: 500 });
        actions.set("refresh", actionValue());

        dispatcher.dispatch("refresh", { ...payload, data: "1" });
        dispatcher.dispatch("refresh", { ...payload, data: "2" });
        vi.advanceTimersByTime(500);

        expect(lines()).toEqual(["refresh delayed #0 1", "refresh merged #0 2", "refresh ran #1 2"]);
    });

    it("passes the notification's action variables, and behaves the same with or without a trace hook", () => {
        const plain = setup();
        const { actions, dispatcher, traces } = traced();
        const withTrace = actionValue();
        const without = actionValue();
        actions.set("refresh", withTrace);
        plain.actions.set("refresh", without);
        for (const data of ["1", "2", "3"]) {
            expect(dispatcher.dispatch("refresh", { ...payload, data })).toBe(
                plain.dispatcher.dispatch("refresh", { ...payload, data })
            );
        }
        vi.advanceTimersByTime(SETTLE_MS);
        expect(withTrace.calls).toEqual(without.calls);
        expect(traces[0].args).toEqual({ sender: "john", changedDate: new Date(payload.changedDate), data: "1" });
    });
});
