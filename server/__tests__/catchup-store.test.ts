import { describe, expect, it } from "vitest";
import {
    MAX_ACTIONS_PER_CHANNEL,
    REORDER_WINDOW_MICROS,
    createCatchupStore,
    stampPayload,
    type CatchupStoreOptions
} from "../catchup-store";

const A = "private-Sales.Order.1";
const B = "private-Sales.Order.2";

/** A store on test clocks: `clock.ms` (payload ages) and `clock.micros` (positions) move only when told. */
function store(limits: Partial<CatchupStoreOptions> = {}) {
    const clock = { ms: 1_000_000, micros: 10_000_000 };
    const kept = createCatchupStore({
        ttlMs: 60_000,
        maxChannels: 1_000,
        maxBytes: 1_048_576,
        epoch: "epoch1",
        nowMs: () => clock.ms,
        clockMicros: () => clock.micros,
        ...limits
    });
    /** Stamps a payload like the notify route's, then lets 10 s (positions) pass. */
    const send = (channel: string, action: string, data = action) => {
        const stamped = kept.stamp(channel, action, JSON.stringify({ actionName: action, data }));
        clock.micros += 10_000_000;
        return stamped;
    };
    return { kept, clock, send };
}

const missedOf = (answer: { missed?: Array<{ action: string; data: string }> }) =>
    answer.missed?.map(entry => `${entry.action}=${(JSON.parse(entry.data) as { data: string }).data}`);

describe("catch-up store", () => {
    it("stamps seq and epoch into the payload, strictly increasing even when the clock stands still", () => {
        const { kept, clock } = store();
        const first = kept.stamp(A, "refresh", '{"actionName":"refresh","data":"x"}');
        const second = kept.stamp(B, "refresh", '{"actionName":"refresh"}');
        expect(JSON.parse(first.data)).toEqual({
            actionName: "refresh",
            data: "x",
            seq: clock.micros,
            epoch: "epoch1"
        });
        expect(second.seq).toBe(first.seq + 1);
        expect(stampPayload("{}", 5, "e")).toBe('{"seq":5,"epoch":"e"}');
        expect(stampPayload('"text"', 5, "e")).toBe('"text"');
    });

    it("answers a first subscription with its position only, and a resubscription with the latest missed per action", () => {
        const { kept, send } = store();
        send(A, "refresh", "before");
        const first = kept.answer(A);
        expect(first).toEqual({ epoch: "epoch1", seq: expect.any(Number) });
        expect(first.missed).toBeUndefined();
        const cursor = { epoch: "epoch1", seq: first.seq };
        expect(kept.answer(A, cursor)).toMatchObject({ missed: [] });

        send(A, "refresh", "one");
        send(B, "refresh", "other channel");
        send(A, "showMessage", "message");
        send(A, "refresh", "two");
        send(A, "refresh", "three");
        const answer = kept.answer(A, cursor);
        expect(missedOf(answer)).toEqual(["showMessage=message", "refresh=three"]);
        expect(answer.lost).toBeUndefined();
        expect(answer.seq).toBeGreaterThan(answer.missed![1].seq);
        // Nothing after the widget's cursor (but within the reorder window): handed out again, the widget skips it.
        const last = answer.missed![1].seq;
        expect(missedOf(kept.answer(A, { epoch: "epoch1", seq: last }))).toEqual(["refresh=three"]);
        expect(missedOf(kept.answer(A, { epoch: "epoch1", seq: last + REORDER_WINDOW_MICROS }))).toEqual([]);
    });

    it("says 'restart' for another epoch and hands out everything of its own", () => {
        const { kept, send } = store();
        send(A, "refresh", "after restart");
        expect(kept.answer(A, { epoch: "before", seq: 999_999_999_999 })).toMatchObject({
            epoch: "epoch1",
            lost: "restart",
            missed: [expect.objectContaining({ action: "refresh" })]
        });
        expect(kept.answer(B, { epoch: "before", seq: 1 })).toMatchObject({ lost: "restart", missed: [] });
    });

    it("keeps a payload for the retention time; after it a widget that missed it is told, one that saw it is not", () => {
        const { kept, clock, send } = store({ ttlMs: 60_000 });
        const cursor = { epoch: "epoch1", seq: kept.answer(A).seq };
        const sent = send(A, "refresh", "old");
        clock.ms += 59_000;
        expect(missedOf(kept.answer(A, cursor))).toEqual(["refresh=old"]);
        clock.ms += 2_000;
        expect(kept.answer(A, cursor)).toMatchObject({ missed: [], lost: "expired" });
        expect(kept.answer(A, { epoch: "epoch1", seq: sent.seq })).toEqual({
            epoch: "epoch1",
            seq: expect.any(Number),
            missed: []
        });
        // The sweep drops the payloads and keeps the positions.
        kept.sweep();
        expect(kept.stats()).toMatchObject({ channels: 0, skeletons: 1, notifications: 0, bytes: 0 });
        expect(kept.answer(A, cursor).lost).toBe("expired");
        expect(kept.answer(A, { epoch: "epoch1", seq: sent.seq }).lost).toBeUndefined();
        // A new notification brings the channel back with what it knew.
        send(A, "refresh", "new");
        expect(kept.answer(A, cursor)).toMatchObject({ lost: "expired" });
        expect(missedOf(kept.answer(A, { epoch: "epoch1", seq: sent.seq }))).toEqual(["refresh=new"]);
    });

    it("keeps at most maxChannels channels: a dropped channel's widgets behind its last position are told", () => {
        const { kept, send } = store({ maxChannels: 100 });
        const cursors = new Map<string, { epoch: string; seq: number }>();
        for (let i = 0; i < 150; i++) {
            const channel = `private-T.${i}`;
            cursors.set(channel, { epoch: "epoch1", seq: kept.answer(channel).seq });
            send(channel, "refresh");
        }
        expect(kept.stats()).toMatchObject({ channels: 100, skeletons: 0, droppedChannels: 50 });
        // Channel 0 was dropped: its widget had not seen its notification.
        expect(kept.answer("private-T.0", cursors.get("private-T.0")).lost).toBe("expired");
        // Channel 149 is kept: its notification is handed out, nothing is lost.
        const kept149 = kept.answer("private-T.149", cursors.get("private-T.149"));
        expect(kept149.lost).toBeUndefined();
        expect(kept149.missed).toHaveLength(1);
        // A widget of a dropped channel that saw everything is not told (unless a shared floor is behind it).
        const now = { epoch: "epoch1", seq: kept.position() };
        expect(kept.answer("private-T.0", now).lost).toBeUndefined();
    });

    it("keeps at most maxBytes of payloads: the least recently notified channels keep their positions only", () => {
        const { kept, send } = store({ maxBytes: 1_048_576 });
        const big = "x".repeat(8_000);
        const cursor = { epoch: "epoch1", seq: kept.answer("private-T.0").seq };
        for (let i = 0; i < 200; i++) {
            send(`private-T.${i}`, "refresh", big);
        }
        const stats = kept.stats();
        expect(stats.bytes).toBeLessThanOrEqual(1_048_576);
        expect(stats.channels + stats.skeletons).toBe(200);
        expect(stats.droppedForBytes).toBeGreaterThan(0);
        expect(kept.answer("private-T.0", cursor)).toMatchObject({ missed: [], lost: "expired" });
        expect(kept.answer("private-T.199", cursor).missed).toHaveLength(1);
    });

    it(`keeps the latest payload of at most ${MAX_ACTIONS_PER_CHANNEL} actions per channel`, () => {
        const { kept, send } = store();
        const cursor = { epoch: "epoch1", seq: kept.answer(A).seq };
        for (let i = 0; i <= MAX_ACTIONS_PER_CHANNEL; i++) {
            send(A, `action${i}`);
        }
        const answer = kept.answer(A, cursor);
        expect(answer.missed).toHaveLength(MAX_ACTIONS_PER_CHANNEL);
        expect(answer.missed![0].action).toBe("action1");
        expect(answer.lost).toBe("expired");
    });
});
