/**
 * Browser end-to-end: the server restarts (same port, same broker credentials, the Mendix sessions
 * live on in the Mendix runtime) while the page stays open; the widget reconnects and resubscribes.
 */
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
    OBJECT_1,
    type OpenedPage,
    type TestServer,
    chromiumForTests,
    launchBrowser,
    notify,
    openPlayground,
    requireWidgetBuild,
    startServer,
    waitUntil,
    waitForRuns,
    waitForWidgets
} from "./helpers";

const chromiumPath = chromiumForTests();

describe.skipIf(!chromiumPath)("server restart", () => {
    let browser: Browser;
    const servers: TestServer[] = [];
    const opened: OpenedPage[] = [];

    beforeAll(async () => {
        requireWidgetBuild();
        browser = await launchBrowser(chromiumPath!);
    });

    afterEach(async () => {
        await Promise.all(opened.splice(0).map(entry => entry.context.close()));
        await Promise.all(servers.splice(0).map(server => server.close()));
    });

    afterAll(async () => {
        await browser?.close();
    });

    it("the open page reconnects, resubscribes and runs the action for the next notify", async () => {
        const first = await startServer();
        servers.push(first);
        const john = await openPlayground(browser, first, { user: "john", object: OBJECT_1.guid });
        opened.push(john);
        await waitForWidgets(john.page, "listening");
        await notify(first, { ...OBJECT_1, action: "refresh", data: "before restart" });
        await waitForRuns(john.page, 1);
        const authorizedBefore = first.mendix.accessLog.filter(entry => entry.status === 200).length;

        await first.close();
        const second = await startServer({ port: first.port, mendix: first.mendix });
        servers.push(second);
        expect(second.url).toBe(first.url);

        // pusher-js reconnects on its own and the widget's channel is subscribed again on the NEW broker.
        // pusher-js retries at once after code 4200; that attempt meets the closed port, and its connection
        // strategy then waits out its 15 s transport timeout before the next try: allow 25 s.
        await waitUntil(() => (second.app.broker?.stats().subscriptions ?? 0) >= 1, 25_000, "resubscription");
        await waitForWidgets(john.page, "listening");
        expect(john.websockets.length).toBeGreaterThanOrEqual(2);
        // It resubscribed through the access check against the (still running) Mendix runtime.
        expect(first.mendix.accessLog.filter(entry => entry.status === 200).length).toBeGreaterThan(authorizedBefore);

        const started = Date.now();
        await notify(second, { ...OBJECT_1, action: "refresh", sender: "mary", data: "after restart" });
        const runs = await waitForRuns(john.page, 2, 5_000);
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(runs.map(run => run.data)).toEqual(["before restart", "after restart"]);
        expect(john.pageErrors).toEqual([]);
    });
});
