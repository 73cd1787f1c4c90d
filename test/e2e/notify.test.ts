/**
 * Browser end-to-end: notifications reach the right pages, and only those (real Chromium, real server,
 * built widget, fake Mendix runtime).
 */
import { describe, expect, it } from "vitest";
import {
    actionLog,
    browserSuite,
    chromiumForTests,
    notify,
    OBJECT_1,
    sleep,
    waitForRuns,
    waitForWidgets
} from "./helpers";

const chromiumPath = chromiumForTests();

describe.skipIf(!chromiumPath)("notify reaches the pages that listen", () => {
    const suite = browserSuite(chromiumPath);

    it("runs the action in john's and mary's pages with the notification's sender, changedDate and data", async () => {
        const server = await suite.start();
        const john = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        const mary = await suite.open(server, { user: "mary", object: OBJECT_1.guid });
        const [johnWidget] = await waitForWidgets(john.page, "listening");
        await waitForWidgets(mary.page, "listening");
        expect(johnWidget.channel).toBe(`private-${OBJECT_1.entity}.${OBJECT_1.guid}`);
        await expect(john.page.textContent("[data-testid=whoami]")).resolves.toContain("john");
        await expect(mary.page.textContent("[data-testid=whoami]")).resolves.toContain("mary");

        const changedDate = "2026-11-24T10:00:00.000Z";
        const started = Date.now();
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "john", changedDate, data: "status=Shipped" });
        const [johnRuns, maryRuns] = await Promise.all([waitForRuns(john.page, 1), waitForRuns(mary.page, 1)]);
        expect(Date.now() - started).toBeLessThan(2_000);

        const expected = {
            widget: "listen1",
            action: "refresh",
            object: OBJECT_1.guid,
            sender: "john",
            changedDate,
            data: "status=Shipped"
        };
        expect(johnRuns).toHaveLength(1);
        expect(johnRuns[0]).toMatchObject(expected);
        expect(maryRuns).toHaveLength(1);
        expect(maryRuns[0]).toMatchObject(expected);

        // The second action of the list runs only for its own name.
        await notify(server, { ...OBJECT_1, action: "showMessage", sender: "mary" });
        const after = await waitForRuns(john.page, 2);
        expect(after[1]).toMatchObject({ action: "showMessage", sender: "mary", data: "" });
        expect(john.pageErrors).toEqual([]);
        expect(mary.pageErrors).toEqual([]);
    });

    it("refuses eve's subscription, shows the refusal, and never runs her action", async () => {
        const server = await suite.start();
        const eve = await suite.open(server, { user: "eve", object: OBJECT_1.guid });
        const [widget] = await waitForWidgets(eve.page, "error");
        expect(widget.error.length).toBeGreaterThan(0);
        await expect(eve.page.isVisible(".widget-listen-error[role=alert]")).resolves.toBe(true);
        const alert = await eve.page.textContent(".widget-listen-error[role=alert]");
        expect(alert).toMatch(/not|refus|denied|forbidden|access|may/i);
        // The fake Mendix runtime was asked, and said 403 for eve.
        expect(server.mendix.accessLog.some(entry => entry.user === "eve" && entry.status === 403)).toBe(true);

        await notify(server, { ...OBJECT_1, action: "refresh", sender: "john", data: "secret" });
        await sleep(1_500);
        await expect(actionLog(eve.page)).resolves.toEqual([]);
        await expect(eve.page.isVisible("[data-testid=action-log-empty]")).resolves.toBe(true);
        expect(eve.pageErrors).toEqual([]);
    });

    it("with Ignore own notifications, the sender's page skips the action and the other page runs it", async () => {
        const server = await suite.start();
        const john = await suite.open(server, { user: "john", object: OBJECT_1.guid, ignoreOwn: 1 });
        const mary = await suite.open(server, { user: "mary", object: OBJECT_1.guid, ignoreOwn: 1 });
        await waitForWidgets(john.page, "listening");
        await waitForWidgets(mary.page, "listening");

        // John saves the object; his page sends the notification with sender = john (the Notify form).
        await expect(john.page.inputValue("input[name=sender]")).resolves.toBe("john");
        await john.page.fill("input[name=data]", "saved by john");
        await john.page.click("[data-testid=notify-button]");
        await john.page.waitForSelector("[data-testid=notify-result].result-ok", { timeout: 2_000 });

        const maryRuns = await waitForRuns(mary.page, 1);
        expect(maryRuns).toHaveLength(1);
        expect(maryRuns[0]).toMatchObject({ action: "refresh", sender: "john", data: "saved by john" });
        await sleep(1_000);
        await expect(actionLog(john.page)).resolves.toEqual([]);

        // A notification from someone else still runs in john's page.
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary" });
        const johnRuns = await waitForRuns(john.page, 1);
        expect(johnRuns[0]).toMatchObject({ sender: "mary" });
    });
});
