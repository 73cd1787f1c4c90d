/**
 * Browser end-to-end: no stale pages (docs/architecture-catchup.md). Real Chromium opens the playground through a
 * TCP proxy that cuts the page's connections for a few seconds while the server keeps running; notifications sent
 * meanwhile run once per action afterwards, with the latest payload; a cut with nothing sent runs nothing; after a
 * server restart the page's On reconnected action says notifications may have been lost.
 */
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { RESEND_DELAY_MS } from "../../server/catchup";
import {
    actionLog,
    browserSuite,
    chromiumForTests,
    notify,
    OBJECT_1,
    sleep,
    waitForRuns,
    waitForWidgets,
    type TestServer
} from "./helpers";
import { startProxy, type CuttableProxy } from "./proxy";

const chromiumPath = chromiumForTests();

/** The cut of the issue: 5 s, longer than the 3.5 s after which the widget says it is reconnecting. */
const CUT_MS = 5_000;
/** After the cut ends, the widget's reconnect check comes within one backoff step (about 4 s ±25 % here). */
const BACK_WITHIN_MS = 12_000;
/** The catch-up runs within 1 s of the widget listening again. */
const CATCH_UP_WITHIN_MS = 1_000;

interface ConnectionEvent {
    widget: string;
    event: string;
    offlineSeconds: string;
    mayHaveLost: string;
}

/** The page's log of On connection lost / On reconnected runs, oldest first. */
async function connectionEvents(page: Page): Promise<ConnectionEvent[]> {
    const events = await page.$$eval("[data-testid=connection-event]", items =>
        items.map(item => {
            const data = (item as HTMLElement).dataset;
            return {
                widget: data.widget ?? "",
                event: data.event ?? "",
                offlineSeconds: data.offlineSeconds ?? "",
                mayHaveLost: data.mayHaveLost ?? ""
            };
        })
    );
    return events.reverse();
}

/** The widget's state as its status element says. */
async function widgetState(page: Page): Promise<string> {
    return page.$eval(
        ".widget-host [data-listen-state]",
        element => (element as HTMLElement).dataset.listenState ?? ""
    );
}

/** Waits until the widget no longer says "listening": the cut reached it. */
async function notListening(page: Page): Promise<void> {
    await page.waitForFunction(
        () =>
            document.querySelector<HTMLElement>(".widget-host [data-listen-state]")?.dataset.listenState !==
            "listening",
        undefined,
        { timeout: 5_000, polling: 25 }
    );
}

describe.skipIf(!chromiumPath)("catch-up after the page's connection was cut", () => {
    const suite = browserSuite(chromiumPath);
    let proxy: CuttableProxy | undefined;

    afterEach(async () => {
        await proxy?.close();
        proxy = undefined;
    });

    /** A server, the proxy in front of it, and john's page through the proxy, listening. */
    async function pageThroughProxy(): Promise<{ server: TestServer; page: Page; pageErrors: string[] }> {
        const server = await suite.start();
        proxy = await startProxy(server.url);
        const opened = await suite.open({ ...server, url: proxy.url }, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(opened.page, "listening");
        return { server, page: opened.page, pageErrors: opened.pageErrors };
    }

    /** Cuts the page off for `CUT_MS`, running `meanwhile` during the cut; resolves once it listens again. */
    async function cutFor(page: Page, meanwhile: () => Promise<void>): Promise<number> {
        proxy!.cut();
        await notListening(page);
        const started = Date.now();
        await meanwhile();
        await sleep(Math.max(0, CUT_MS - (Date.now() - started)));
        proxy!.restore();
        await waitForWidgets(page, "listening", 1, BACK_WITHIN_MS);
        return Date.now();
    }

    it("runs each action missed during a 5 s cut exactly once afterwards, with the latest payload", async () => {
        const { server, page, pageErrors } = await pageThroughProxy();
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "live before the cut" });
        await waitForRuns(page, 1);

        const listening = await cutFor(page, async () => {
            for (const data of ["missed 1", "missed 2", "missed 3"]) {
                await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data });
            }
            await notify(server, { ...OBJECT_1, action: "showMessage", sender: "ann", data: "missed message" });
        });

        const runs = await waitForRuns(page, 3, CATCH_UP_WITHIN_MS + 500);
        const caughtUpMs = Date.now() - listening;
        console.log(`[catch-up] the missed actions ran ${caughtUpMs} ms after the widget listened again`);
        expect(caughtUpMs).toBeLessThan(CATCH_UP_WITHIN_MS + 500);
        // Nothing more comes: not the earlier missed ones, not the resend of the gap, not the live events again.
        await sleep(RESEND_DELAY_MS + 1_000);
        const after = (await actionLog(page)).slice(1);
        expect(runs.length).toBe(3);
        expect(after.map(run => [run.action, run.data, run.sender]).sort()).toEqual([
            ["refresh", "missed 3", "mary"],
            ["showMessage", "missed message", "ann"]
        ]);

        // The connection events: lost once (the cut lasted longer than the widget waits before saying so), then
        // reconnected once, offline about as long as the cut, nothing lost.
        const events = await connectionEvents(page);
        expect(events.map(event => event.event)).toEqual(["lost", "reconnected"]);
        expect(events[1].mayHaveLost).toBe("false");
        expect(Number(events[1].offlineSeconds)).toBeGreaterThanOrEqual(CUT_MS / 1000 - 1);
        expect(Number(events[1].offlineSeconds)).toBeLessThanOrEqual((CUT_MS + BACK_WITHIN_MS) / 1000);

        // Live again: the next notification runs once, as before.
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "live after" });
        await waitForRuns(page, 4);
        await sleep(500);
        expect((await actionLog(page)).map(run => run.data)).toEqual([
            "live before the cut",
            ...after.map(run => run.data),
            "live after"
        ]);
        expect(pageErrors).toEqual([]);
    });

    it("runs nothing after a cut during which nothing was sent", async () => {
        const { server, page, pageErrors } = await pageThroughProxy();
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "before" });
        await waitForRuns(page, 1);
        await cutFor(page, async () => undefined);
        await sleep(RESEND_DELAY_MS + 1_000);
        expect((await actionLog(page)).map(run => run.data)).toEqual(["before"]);
        const events = await connectionEvents(page);
        expect(events.map(event => [event.event, event.mayHaveLost])).toEqual([
            ["lost", ""],
            ["reconnected", "false"]
        ]);
        expect(await widgetState(page)).toBe("listening");
        expect(pageErrors).toEqual([]);
    });

    it("after a server restart, On reconnected says notifications may have been lost; what the new server sent runs", async () => {
        const first = await suite.start();
        proxy = await startProxy(first.url);
        const opened = await suite.open({ ...first, url: proxy.url }, { user: "john", object: OBJECT_1.guid });
        const page = opened.page;
        await waitForWidgets(page, "listening");
        await notify(first, { ...OBJECT_1, action: "refresh", sender: "mary", data: "before the restart" });
        await waitForRuns(page, 1);

        proxy.cut();
        await notListening(page);
        // Sent by the old server while the page is cut off: the restart loses it (state in memory only) ...
        await notify(first, { ...OBJECT_1, action: "showMessage", sender: "mary", data: "lost with the restart" });
        await first.close();
        const second = await suite.start({ port: first.port, mendix: first.mendix });
        // ... sent by the new server before the page is back: caught up.
        await notify(second, { ...OBJECT_1, action: "refresh", sender: "ann", data: "after the restart" });
        proxy.restore();
        await waitForWidgets(page, "listening", 1, BACK_WITHIN_MS);

        const runs = await waitForRuns(page, 2, CATCH_UP_WITHIN_MS + 500);
        await sleep(RESEND_DELAY_MS + 500);
        expect((await actionLog(page)).map(run => run.data)).toEqual(["before the restart", "after the restart"]);
        expect(runs[1]).toMatchObject({ action: "refresh", sender: "ann" });
        const events = await connectionEvents(page);
        expect(events.at(-1)).toMatchObject({ event: "reconnected", mayHaveLost: "true" });
        expect(events.filter(event => event.event === "reconnected")).toHaveLength(1);
        expect(opened.pageErrors).toEqual([]);
    });
});
