// @vitest-environment node
/**
 * The connection's catch-up (docs/architecture-catchup.md) against the fake pusher-js and a fake auth endpoint that
 * answers like the companion server: the cursor goes with the resubscription, the missed notifications run once per
 * action with the latest payload, a notification never runs twice (live, caught up or sent again), and the widgets
 * hear `onLost` / `onReconnected`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CATCH_UP_EVENT, type CatchupAnswer, type StampedPayload } from "../../../protocol";
import { fakeFetch, fakePusherFactory, json, type FakePusher } from "../../__tests__/fakes";
import { createConnectionManager } from "../manager";
import type { ChannelListener, Reconnected } from "../status";
import { endpoints } from "./helpers";

const CHANNEL = "private-Sales.Order.1";
const EPOCH = "epochA1";

function payload(action: string, seq: number, data = "", epoch = EPOCH): StampedPayload {
    return {
        entity: "Sales.Order",
        guid: "1",
        changedDate: "2026-11-24T10:00:00.000Z",
        sender: "mary",
        actionName: action,
        data,
        seq,
        epoch
    };
}

interface Recording extends ChannelListener {
    runs: Array<{ action: string; data: string | undefined; seq: number | undefined }>;
    lost: number;
    reconnected: Reconnected[];
}

function recording(): Recording {
    const widget: Recording = {
        runs: [],
        lost: 0,
        reconnected: [],
        onEvent: (action, data) => {
            const { data: text, seq } = data as Partial<StampedPayload>;
            widget.runs.push({ action, data: text, seq });
        },
        onStatus: () => undefined,
        onLost: () => {
            widget.lost++;
        },
        onReconnected: info => {
            widget.reconnected.push(info);
        }
    };
    return widget;
}

/**
 * A manager whose auth endpoint answers `catchup` from `answer(cursor)` (the form field, or null without one);
 * `undefined` answers like a server without catch-up.
 */
function setup(answer: (cursor: string | null) => CatchupAnswer | undefined) {
    const cursors: Array<string | null> = [];
    const pushers = fakePusherFactory();
    const server = fakeFetch({
        auth: request => {
            const form = new URLSearchParams(request.body ?? "");
            const cursor = form.get("catchup");
            cursors.push(cursor);
            const catchup = answer(cursor);
            const auth = `app-key:signature-for-${form.get("channel_name")}`;
            return json(catchup === undefined ? { auth } : { auth, catchup });
        }
    });
    const manager = createConnectionManager({
        createPusher: pushers.create,
        fetch: server.fetch,
        getCsrfToken: () => "csrf",
        random: () => 0.5
    });
    const widget = recording();
    manager.subscribe(endpoints(), CHANNEL, widget);
    const pusher = (): FakePusher => pushers.clients[0]!;
    return { manager, widget, cursors, pusher };
}

async function settle(ms = 0): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
}

/** The socket is cut for `ms` (unreachable meanwhile), then reachable again and given time to resubscribe. */
async function cut(pusher: FakePusher, ms: number): Promise<void> {
    pusher.reachable = false;
    pusher.drop(1006);
    await settle(ms);
    pusher.reachable = true;
    await settle(16_000);
}

describe("catch-up after an interruption", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("sends its cursor with the resubscription and runs each missed action once, with the latest payload", async () => {
        let next: CatchupAnswer = { epoch: EPOCH, seq: 100 };
        const { widget, cursors, pusher } = setup(() => next);
        await settle();
        pusher().trigger(CHANNEL, "refresh", payload("refresh", 110, "live 1"));
        pusher().trigger(CHANNEL, "showMessage", payload("showMessage", 120, "live 2"));
        expect(widget.runs.map(run => run.data)).toEqual(["live 1", "live 2"]);

        next = {
            epoch: EPOCH,
            seq: 200,
            missed: [payload("showMessage", 130, "missed message"), payload("refresh", 150, "missed refresh 3")]
        };
        await cut(pusher(), 5_000);

        expect(cursors).toEqual([null, `${EPOCH}:120`]);
        expect(widget.runs.slice(2)).toEqual([
            { action: "showMessage", data: "missed message", seq: 130 },
            { action: "refresh", data: "missed refresh 3", seq: 150 }
        ]);
        expect(widget.reconnected).toHaveLength(1);
        expect(widget.reconnected[0].mayHaveLost).toBe(false);
        expect(widget.reconnected[0].offlineMs).toBeGreaterThanOrEqual(5_000);
        expect(widget.reconnected[0].offlineMs).toBeLessThan(21_000);
    });

    it("never runs a notification twice: the live event after its catch-up, a resend, an older one", async () => {
        let next: CatchupAnswer = { epoch: EPOCH, seq: 100 };
        const { widget, cursors, pusher } = setup(() => next);
        await settle();
        next = { epoch: EPOCH, seq: 200, missed: [payload("refresh", 150, "caught up")] };
        await cut(pusher(), 1_000);
        expect(widget.runs.map(run => run.seq)).toEqual([150]);

        // The same notification arrives live as well (it was on its way when the answer was computed) ...
        pusher().trigger(CHANNEL, "refresh", payload("refresh", 150, "caught up"));
        // ... and once more as a resend for widgets that were subscribing; an older one of that action comes late.
        pusher().trigger(CHANNEL, CATCH_UP_EVENT, payload("refresh", 150, "caught up"));
        pusher().trigger(CHANNEL, "refresh", payload("refresh", 140, "older"));
        expect(widget.runs.map(run => run.seq)).toEqual([150]);

        // A resend of a notification this widget did not see runs under its own action; another action's older
        // notification still runs (one action's progress says nothing about another's).
        pusher().trigger(CHANNEL, CATCH_UP_EVENT, payload("refresh", 210, "sent again"));
        pusher().trigger(CHANNEL, "showMessage", payload("showMessage", 205, "other action"));
        expect(widget.runs).toEqual([
            { action: "refresh", data: "caught up", seq: 150 },
            { action: "refresh", data: "sent again", seq: 210 },
            { action: "showMessage", data: "other action", seq: 205 }
        ]);

        next = { epoch: EPOCH, seq: 300, missed: [payload("refresh", 210, "sent again")] };
        await cut(pusher(), 1_000);
        expect(cursors[2]).toBe(`${EPOCH}:210`);
        expect(widget.runs).toHaveLength(3);
    });

    it("runs nothing when nothing was missed, and hears onReconnected without a loss", async () => {
        let next: CatchupAnswer = { epoch: EPOCH, seq: 100 };
        const { widget, pusher } = setup(() => next);
        await settle();
        next = { epoch: EPOCH, seq: 180, missed: [] };
        await cut(pusher(), 2_000);
        expect(widget.runs).toEqual([]);
        expect(widget.reconnected.map(info => info.mayHaveLost)).toEqual([false]);
    });

    it("says it may have lost notifications after a restart (another epoch), and forgets the old positions", async () => {
        let next: CatchupAnswer = { epoch: EPOCH, seq: 100 };
        const { widget, cursors, pusher } = setup(() => next);
        await settle();
        pusher().trigger(CHANNEL, "refresh", payload("refresh", 900, "before"));
        next = {
            epoch: "epochB2",
            seq: 20,
            missed: [payload("refresh", 10, "after restart", "epochB2")],
            lost: "restart"
        };
        await cut(pusher(), 2_000);
        // seq 10 of the new epoch runs although the old epoch had seen 900.
        expect(widget.runs.map(run => run.data)).toEqual(["before", "after restart"]);
        expect(widget.reconnected.map(info => info.mayHaveLost)).toEqual([true]);
        pusher().trigger(CHANNEL, "refresh", payload("refresh", 30, "next", "epochB2"));
        expect(widget.runs.map(run => run.data)).toEqual(["before", "after restart", "next"]);

        next = { epoch: "epochB2", seq: 40, missed: [], lost: "expired" };
        await cut(pusher(), 2_000);
        expect(cursors[2]).toBe("epochB2:30");
        expect(widget.reconnected.map(info => info.mayHaveLost)).toEqual([true, true]);
    });

    it("says it may have lost notifications when the server did not read its cursor or knows no catch-up", async () => {
        let next: CatchupAnswer | undefined = { epoch: EPOCH, seq: 100 };
        const { widget, pusher } = setup(() => next);
        await settle();
        // A relay that forwards only socket_id and channel_name: the answer is a first subscription's.
        next = { epoch: EPOCH, seq: 150 };
        await cut(pusher(), 1_000);
        // A server without catch-up.
        next = undefined;
        await cut(pusher(), 1_000);
        expect(widget.reconnected.map(info => info.mayHaveLost)).toEqual([true, true]);
        expect(widget.runs).toEqual([]);
    });

    it("says it may have lost notifications when the channel also hears a sender without catch-up", async () => {
        let next: CatchupAnswer = { epoch: EPOCH, seq: 100 };
        const { widget, pusher } = setup(() => next);
        await settle();
        // The Mendix 7 Java Notify action triggers through Pusher directly: no seq, no epoch.
        pusher().trigger(CHANNEL, "refresh", { entity: "Sales.Order", guid: "1", actionName: "refresh", data: "java" });
        expect(widget.runs.map(run => run.data)).toEqual(["java"]);
        next = { epoch: EPOCH, seq: 200, missed: [] };
        await cut(pusher(), 1_000);
        expect(widget.reconnected.map(info => info.mayHaveLost)).toEqual([true]);
    });

    it("hears onLost once when the interruption shows, and not for an interruption that heals at once", async () => {
        const { widget, pusher } = setup(() => ({ epoch: EPOCH, seq: 100, missed: [] }));
        await settle();
        // pusher-js's own immediate retry works: a blip.
        pusher().drop(4200);
        await settle();
        expect(widget.lost).toBe(0);
        expect(widget.reconnected).toHaveLength(1);

        pusher().reachable = false;
        pusher().drop(1006);
        await settle(3_000);
        expect(widget.lost).toBe(0);
        await settle(1_000); // the third failed attempt: the widgets now say "reconnecting"
        expect(widget.lost).toBe(1);
        await settle(20_000);
        expect(widget.lost).toBe(1);
        pusher().reachable = true;
        await settle(16_000);
        expect(widget.lost).toBe(1);
        expect(widget.reconnected).toHaveLength(2);
        expect(widget.reconnected[1].offlineMs).toBeGreaterThan(24_000);
    });
});
