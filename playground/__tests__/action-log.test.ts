/**
 * The playground's action log as data (client/action-log.ts): every notification leaves one entry per widget, the
 * waiting ones learn which run got their payload, and switching objects starts a new group.
 */
import { describe, expect, it } from "vitest";
import type { DispatchTrace } from "../../protocol/trace";
import { SETTLE_MS } from "../../src/utils/dispatcher";
import {
    type ActionLogState,
    type NoticeEntry,
    type RunEntry,
    WIDGET_SETTLE_MS,
    addNotReceived,
    addRefused,
    addRun,
    applyTrace,
    channelOf,
    clearLog,
    createActionLog,
    entriesSince,
    explainNotice,
    finishRun,
    objectOfChannel,
    startGroup,
    summarizeSend
} from "../client/action-log";
import { DEMO_OBJECTS } from "../data";

const ORDER = DEMO_OBJECTS[0];
const CHANNEL = channelOf(ORDER, "default");
const context = { actions: ["refresh", "showMessage"], delay: 0, userName: "john" };

function args(data: string): DispatchTrace["args"] {
    return { sender: "mary", changedDate: undefined, data };
}

function trace(outcome: DispatchTrace["outcome"], run: number, notification: DispatchTrace["args"], settling = false) {
    return { action: "refresh", outcome, run, settling, args: notification };
}

/** What execute() adds, then the widget's "ran" trace, as the page sees them. */
function ran(state: ActionLogState, run: number, notification: DispatchTrace["args"], token = run): ActionLogState {
    const withRun = addRun(state, {
        token,
        at: new Date(),
        widget: "listen1",
        action: "refresh",
        objectGuid: ORDER.guid,
        channel: CHANNEL,
        sender: notification.sender,
        changedDate: undefined,
        data: notification.data,
        status: "running"
    });
    return applyTrace(withRun, "listen1", CHANNEL, trace("ran", run, notification), ORDER.guid);
}

const entries = (state: ActionLogState) => state.groups.flatMap(group => group.entries);
const notices = (state: ActionLogState) =>
    entries(state).filter((entry): entry is NoticeEntry => entry.kind === "notice");
const runs = (state: ActionLogState) => entries(state).filter((entry): entry is RunEntry => entry.kind === "run");

describe("the playground's action log", () => {
    it("explains the widget's settle time with the widget's own value", () => {
        expect(WIDGET_SETTLE_MS).toBe(SETTLE_MS);
    });

    it("names channels by the object's default or key topic", () => {
        expect(CHANNEL).toBe("private-Sales.Order.281474976710657");
        expect(channelOf(ORDER, "key")).toBe("private-Sales.Order.number.1001");
        expect(objectOfChannel(DEMO_OBJECTS, "private-Sales.Order.number.1001")).toBe(ORDER);
        expect(objectOfChannel(DEMO_OBJECTS, "private-Other.Thing.1")).toBeUndefined();
    });

    it("tells which run got a burst's payload and that the others' payloads were dropped", () => {
        const first = args("1");
        const second = args("2");
        const third = args("3");
        let state = createActionLog(ORDER.guid, CHANNEL);
        state = ran(state, 1, first);
        state = applyTrace(state, "listen1", CHANNEL, trace("coalesced", 1, second, true), ORDER.guid);
        state = applyTrace(state, "listen1", CHANNEL, trace("coalesced", 1, third, true), ORDER.guid);
        expect(notices(state).map(notice => notice.fate)).toEqual([undefined, undefined]);
        expect(explainNotice(notices(state)[0], context)).toMatch(/has not shown isExecuting.*at most 1 s/);

        // The trailing run starts with the latest payload.
        state = ran(state, 2, third);
        expect(notices(state).map(notice => [notice.data, notice.fate])).toEqual([
            ["2", { dropped: "replaced by a later notification's payload in run #2" }],
            ["3", { ranAs: 2 }]
        ]);
        expect(runs(state).map(run => [run.run, run.data, run.carried])).toEqual([
            [1, "1", undefined],
            [2, "3", { count: 2, after: 1 }]
        ]);
        expect(finishRun(state, 2).groups[0].entries.at(-1)).toMatchObject({ status: "done" });
    });

    it("updates a delayed notification that then meets a running action, instead of adding one", () => {
        const notification = args("late");
        let state = ran(createActionLog(ORDER.guid, CHANNEL), 1, args("first"));
        state = applyTrace(state, "listen1", CHANNEL, trace("delayed", 1, notification), ORDER.guid);
        state = applyTrace(state, "listen1", CHANNEL, trace("coalesced", 1, notification), ORDER.guid);
        expect(notices(state).map(notice => notice.outcome)).toEqual(["coalesced"]);
        state = ran(state, 2, notification);
        expect(notices(state)[0].fate).toEqual({ ranAs: 2 });
    });

    it("starts a new group per object, and waiting notifications end with the old object", () => {
        const other = DEMO_OBJECTS[1];
        let state = ran(createActionLog(ORDER.guid, CHANNEL), 1, args("1"));
        state = applyTrace(state, "listen1", CHANNEL, trace("coalesced", 1, args("2")), ORDER.guid);
        state = startGroup(state, other.guid, channelOf(other, "default"));
        expect(state.groups.map(group => [group.objectGuid, group.entries.length])).toEqual([
            [ORDER.guid, 2],
            [other.guid, 0]
        ]);
        expect(notices(state)[0].fate).toMatchObject({ dropped: expect.stringMatching(/switched objects/) });
        expect(clearLog(state).groups).toEqual([{ ...state.groups[1], entries: [] }]);
    });

    it("sums up one Notify press per widget, and warns when nothing will run", () => {
        const since = new Date(Date.now() - 1);
        let state = createActionLog(ORDER.guid, CHANNEL);
        state = applyTrace(state, "listen1", CHANNEL, { ...trace("ignored-own", 0, args("x")) }, ORDER.guid);
        state = addNotReceived(state, {
            widget: "listen2",
            action: "refresh",
            objectGuid: ORDER.guid,
            channel: CHANNEL,
            reason: "listen2 listens to another topic"
        });
        const summary = summarizeSend(entriesSince(state, since, CHANNEL), ["listen1", "listen2"]);
        expect(summary).toEqual({
            tone: "warn",
            text: "listen1: skipped: own notification · listen2: not received"
        });
        state = ran(state, 1, args("y"));
        expect(summarizeSend(entriesSince(state, since, CHANNEL), ["listen1"]).tone).toBe("ok");
        const refused = addRefused(state, {
            action: "pusher:x",
            objectGuid: ORDER.guid,
            channel: CHANNEL,
            reason: "400"
        });
        expect(summarizeSend(entriesSince(refused, since, CHANNEL), ["listen1"]).text).toMatch(/refused/);
    });
});
