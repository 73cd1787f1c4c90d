/**
 * Browser end-to-end: several widgets share one connection, a data view that switches objects moves
 * the subscription, and a burst of notifications for a slow action coalesces.
 */
import { describe, expect, it } from "vitest";
import {
    actionLog,
    browserSuite,
    chromiumForTests,
    notify,
    OBJECT_1,
    OBJECT_2,
    sleep,
    waitForRuns,
    waitForWidgets
} from "./helpers";

const chromiumPath = chromiumForTests();

describe.skipIf(!chromiumPath)("Listen widgets in one page", () => {
    const suite = browserSuite(chromiumPath);

    it("three widgets on one object open exactly one WebSocket and all run their action", async () => {
        const server = await suite.start();
        const john = await suite.open(server, { user: "john", object: OBJECT_1.guid, widgets: 3 });
        const states = await waitForWidgets(john.page, "listening", 3);
        expect(states.map(state => state.widget)).toEqual(["listen1", "listen2", "listen3"]);
        expect(new Set(states.map(state => state.channel))).toEqual(
            new Set([`private-${OBJECT_1.entity}.${OBJECT_1.guid}`])
        );

        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "one for all" });
        const runs = await waitForRuns(john.page, 3);
        expect(runs.map(run => run.widget).sort()).toEqual(["listen1", "listen2", "listen3"]);
        expect(runs.every(run => run.data === "one for all" && run.sender === "mary")).toBe(true);

        expect(john.websockets).toHaveLength(1);
        expect(john.websockets[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/app\//);
        // One authorization for the one shared channel.
        const checks = server.mendix.accessLog.filter(entry => entry.user === "john" && entry.status === 200);
        expect(checks).toHaveLength(1);
    });

    it("after the data view switches objects, only the new object's notifications run the action", async () => {
        const server = await suite.start();
        const john = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(john.page, "listening");
        await notify(server, { ...OBJECT_1, action: "refresh", data: "old object, before" });
        await waitForRuns(john.page, 1);

        await john.page.click(`.tabs button[data-object="${OBJECT_2.guid}"]`);
        await expect(john.page.textContent("[data-testid=object-guid]")).resolves.toBe(OBJECT_2.guid);
        await john.page.waitForFunction(
            channel =>
                document.querySelector<HTMLElement>("[data-listen-state]")?.dataset.listenChannel === channel &&
                document.querySelector<HTMLElement>("[data-listen-state]")?.dataset.listenState === "listening",
            `private-${OBJECT_2.entity}.${OBJECT_2.guid}`,
            { timeout: 5_000, polling: 25 }
        );

        await notify(server, { ...OBJECT_1, action: "refresh", data: "old object, after" });
        await notify(server, { ...OBJECT_2, action: "refresh", data: "new object" });
        const runs = await waitForRuns(john.page, 2);
        await sleep(500);
        const final = await actionLog(john.page);
        expect(final.map(run => run.data)).toEqual(["old object, before", "new object"]);
        expect(runs[1].object).toBe(OBJECT_2.guid);
        // The switch moved the subscription over the SAME connection: the page opened exactly one WebSocket.
        expect(john.websockets).toHaveLength(1);
        expect(john.pageErrors).toEqual([]);
    });

    it("a burst of 20 notifications while the action is slow runs it at most twice", async () => {
        const server = await suite.start();
        const slowMs = 1_000;
        const john = await suite.open(server, { user: "john", object: OBJECT_1.guid, slowMs });
        await waitForWidgets(john.page, "listening");

        await Promise.all(
            Array.from({ length: 20 }, (_, index) =>
                notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: `burst ${index + 1}` })
            )
        );
        await waitForRuns(john.page, 1);
        // Long enough for the first run and one trailing run to finish, and for any further run to start.
        await sleep(2 * slowMs + 1_000);
        const runs = await actionLog(john.page);
        expect(runs.length).toBeGreaterThanOrEqual(1);
        expect(runs.length).toBeLessThanOrEqual(2);
        expect(runs.every(run => run.status === "done")).toBe(true);
        // The widget waits for isExecuting to clear; it never calls execute() on a running action.
        await expect(actionLog(john.page, "ignored")).resolves.toEqual([]);
        if (runs.length === 2) {
            // The trailing run carries the newest notification of the burst.
            expect(runs[1].data).toMatch(/^burst \d+$/);
        }
    });
});
