/**
 * Browser end-to-end for the modes of issue 14 (real Chromium, real server, built widget, fake Mendix runtime):
 * Show who else is viewing between pages of different users, a user's notifications reaching only that user's pages
 * (a widget in the layout, no data view), and a broadcast reaching every signed-in page.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
    browserSuite,
    chromiumForTests,
    notify,
    OBJECT_1,
    sleep,
    viewersEvents,
    viewersShown,
    waitForWidgets
} from "./helpers";

const chromiumPath = chromiumForTests();

/** Waits until the page's data-view widget lists exactly `names` as other viewers. */
async function waitForViewers(page: Page, names: string[], timeout = 5_000): Promise<void> {
    try {
        await page.waitForFunction(
            expected => {
                const shown = [...document.querySelectorAll(".widget-host .widget-listen-viewer")].map(
                    item => item.textContent ?? ""
                );
                return JSON.stringify(shown) === JSON.stringify(expected);
            },
            names,
            { timeout, polling: 50 }
        );
    } catch (error) {
        throw new Error(
            `Expected the viewers ${JSON.stringify(names)}, the page shows ${JSON.stringify(await viewersShown(page))}: ${String(error)}`
        );
    }
}

/** The layout's widgets (user and broadcast) as the page shows them: name -> [state, channel]. */
async function layoutWidgets(page: Page): Promise<Record<string, [string, string]>> {
    return page.$$eval(".layout-slot", slots =>
        Object.fromEntries(
            slots.map(slot => {
                const status = slot.querySelector<HTMLElement>(".layout-host [data-listen-state]");
                return [
                    (slot as HTMLElement).dataset.widget ?? "",
                    [status?.dataset.listenState ?? "", status?.dataset.listenChannel ?? ""]
                ];
            })
        )
    );
}

async function waitForLayout(page: Page, state: string): Promise<Record<string, [string, string]>> {
    await page.waitForFunction(
        state => {
            const elements = document.querySelectorAll<HTMLElement>(".layout-host [data-listen-state]");
            return elements.length === 2 && [...elements].every(element => element.dataset.listenState === state);
        },
        state,
        { timeout: 10_000, polling: 50 }
    );
    return layoutWidgets(page);
}

const texts = (page: Page, selector: string): Promise<string[]> =>
    page.$$eval(selector, items => items.map(item => item.textContent?.trim() ?? ""));

describe.skipIf(!chromiumPath)("Show who else is viewing", () => {
    const suite = browserSuite(chromiumPath);

    it("lists the other user in each page, counts a user's two tabs once, and drops a viewer who leaves", async () => {
        const server = await suite.start();
        const query = { object: OBJECT_1.guid, viewers: 1 };
        const john = await suite.open(server, { ...query, user: "john" });
        await waitForWidgets(john.page, "listening");
        await expect(viewersShown(john.page)).resolves.toEqual([[]]);

        const mary = await suite.open(server, { ...query, user: "mary" });
        await waitForWidgets(mary.page, "listening");
        await waitForViewers(john.page, ["Mary Jones"]);
        await waitForViewers(mary.page, ["John Smith"]);
        await expect(john.page.textContent(".widget-host .widget-listen-viewers")).resolves.toBe(
            "Also viewing:Mary Jones"
        );
        await expect(viewersEvents(john.page)).resolves.toEqual([["listen1", "1", "Mary Jones"]]);

        // Mary opens the same order in a second tab (same session): still one Mary.
        const maryTab = await mary.context.newPage();
        await maryTab.goto(mary.page.url());
        await waitForWidgets(maryTab, "listening");
        await waitForViewers(maryTab, ["John Smith"]);
        await sleep(500);
        await expect(viewersShown(john.page)).resolves.toEqual([["Mary Jones"]]);

        // Closing one of her tabs keeps her; closing the last one removes her.
        await maryTab.close();
        await sleep(500);
        await expect(viewersShown(john.page)).resolves.toEqual([["Mary Jones"]]);
        await mary.page.close();
        await waitForViewers(john.page, []);
        await expect(john.page.locator(".widget-host .widget-listen-viewers").count()).resolves.toBe(0);
        await expect(viewersEvents(john.page)).resolves.toEqual([
            ["listen1", "1", "Mary Jones"],
            ["listen1", "0", ""]
        ]);
        expect(john.pageErrors).toEqual([]);
    });

    it("lists nobody for a user who may not read the object, and refuses her presence", async () => {
        const server = await suite.start();
        const john = await suite.open(server, { object: OBJECT_1.guid, viewers: 1, user: "john" });
        await waitForWidgets(john.page, "listening");
        const eve = await suite.open(server, { object: OBJECT_1.guid, viewers: 1, user: "eve" });
        await waitForWidgets(eve.page, "error");
        await sleep(500);
        await expect(viewersShown(john.page)).resolves.toEqual([[]]);
        expect(
            server.mendix.accessLog.some(
                entry => entry.user === "eve" && entry.channel === `presence-${OBJECT_1.entity}.${OBJECT_1.guid}`
            )
        ).toBe(true);
    });
});

describe.skipIf(!chromiumPath)("the current user's notifications and broadcasts", () => {
    const suite = browserSuite(chromiumPath);

    it("a user notification shows a toast in that user's pages only, from a widget outside the data view", async () => {
        const server = await suite.start();
        const john = await suite.open(server, { user: "john", layout: 1 });
        const mary = await suite.open(server, { user: "mary", layout: 1 });
        await expect(waitForLayout(mary.page, "listening")).resolves.toEqual({
            userListen: ["listening", "private-user-mary"],
            broadcastListen: ["listening", "private-broadcast-all"]
        });
        await expect(waitForLayout(john.page, "listening")).resolves.toMatchObject({
            userListen: ["listening", "private-user-john"]
        });

        const answer = await notify(server, {
            user: "mary",
            action: "toast",
            sender: "export",
            data: "Your export is ready."
        });
        expect(answer.channels).toEqual(["private-user-mary"]);
        await mary.page.waitForSelector("[data-testid=toast]", { timeout: 2_000 });
        await expect(texts(mary.page, "[data-testid=toast] .toast-text")).resolves.toEqual(["Your export is ready."]);
        await sleep(1_000);
        await expect(john.page.locator("[data-testid=toast]").count()).resolves.toBe(0);

        // The Notify form does the same through the playground's relay.
        await john.page.selectOption("select[name=target]", "user:john");
        await expect(john.page.inputValue("input[name=action]")).resolves.toBe("toast");
        await john.page.fill("input[name=data]", "Report 7 is ready.");
        await john.page.click("[data-testid=notify-button]");
        await john.page.waitForSelector("[data-testid=toast]", { timeout: 2_000 });
        await expect(texts(john.page, "[data-testid=toast] .toast-text")).resolves.toEqual(["Report 7 is ready."]);
        await expect(john.page.textContent("[data-testid=notify-result]")).resolves.toContain("private-user-john");
        await expect(texts(mary.page, "[data-testid=toast] .toast-text")).resolves.toEqual(["Your export is ready."]);
        expect(john.pageErrors).toEqual([]);
        expect(mary.pageErrors).toEqual([]);
    });

    it("a broadcast shows a banner in every signed-in page, and not in a signed-out one", async () => {
        const server = await suite.start();
        const pages = await Promise.all(["john", "mary", "eve"].map(user => suite.open(server, { user, layout: 1 })));
        for (const opened of pages) {
            await waitForLayout(opened.page, "listening");
        }
        const signedOut = await suite.open(server, { user: "anonymous", layout: 1 });
        await waitForLayout(signedOut.page, "error");

        await notify(server, { broadcast: "all", action: "banner", data: "Maintenance tonight 22:00-22:30." });
        for (const opened of pages) {
            await opened.page.waitForSelector("[data-testid=banner]", { timeout: 2_000 });
            await expect(opened.page.textContent("[data-testid=banner] .banner-text")).resolves.toBe(
                "Maintenance tonight 22:00-22:30."
            );
        }
        await expect(signedOut.page.locator("[data-testid=banner]").count()).resolves.toBe(0);

        await notify(server, { broadcast: "all", action: "clearBanner" });
        for (const opened of pages) {
            await opened.page.waitForSelector("[data-testid=banner]", { state: "detached", timeout: 2_000 });
        }
        // The data view's widgets are not on the broadcast channel: nothing ran in them.
        await expect(pages[0].page.locator("[data-testid=action-run]").count()).resolves.toBe(0);
    });
});
