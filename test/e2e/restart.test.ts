/**
 * Browser end-to-end: the server restarts (same port, same broker credentials, the Mendix sessions
 * live on in the Mendix runtime) while the page stays open; the widget reconnects and resubscribes.
 */
import { describe, expect, it } from "vitest";
import { browserSuite, chromiumForTests, notify, OBJECT_1, waitForRuns, waitForWidgets, waitUntil } from "./helpers";

const chromiumPath = chromiumForTests();

/** The page must listen again within this time after the restarted server accepts connections. */
const RESUME_BOUND_MS = 5_000;

describe.skipIf(!chromiumPath)("server restart", () => {
    const suite = browserSuite(chromiumPath);

    it("the open page reconnects, resubscribes and runs the action for the next notify", async () => {
        const first = await suite.start();
        const john = await suite.open(first, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(john.page, "listening");
        await notify(first, { ...OBJECT_1, action: "refresh", data: "before restart" });
        await waitForRuns(john.page, 1);
        const authorizedBefore = first.mendix.accessLog.filter(entry => entry.status === 200).length;

        await first.close();
        const second = await suite.start({ port: first.port, mendix: first.mendix });
        const back = Date.now();
        expect(second.url).toBe(first.url);

        // The broker closed the socket with 4200; pusher-js's immediate retry met the closed port and would wait out
        // its 15 s transport timeout. The widget's connection manager retries on its own (0.5 s, 1 s, 2 s … backoff),
        // so the page is subscribed again on the NEW broker, and listening, within 5 s of the server coming back.
        await waitUntil(
            () => (second.app.broker?.stats().subscriptions ?? 0) >= 1,
            RESUME_BOUND_MS,
            "resubscription on the restarted server"
        );
        await waitForWidgets(john.page, "listening", 1, Math.max(1, RESUME_BOUND_MS - (Date.now() - back)));
        const resumedMs = Date.now() - back;
        console.log(`[restart] the widget listened again ${resumedMs} ms after the server came back`);
        expect(resumedMs).toBeLessThan(RESUME_BOUND_MS);
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
