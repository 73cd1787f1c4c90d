/**
 * Browser end-to-end: what an app migrating from the Mendix 7 module or the Pusher module v4 relies on, with the
 * BUILT widget in real Chromium. The Mendix 7 Java Notify payload (epoch-ms `changedDate`, `actionName`) sent
 * through the Pusher HTTP API with the pusher SDK runs the action with the right Changed date; an action name
 * with a space ("Refresh order") works end to end; and the widget loads and works where the Mendix client does
 * not provide `mendix/session`.
 */
import Pusher from "pusher";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { WIDGET_MODULE, findWidgetBuild } from "../../playground/widget-build";
import {
    BROKER,
    browserSuite,
    chromiumForTests,
    notify,
    OBJECT_1,
    sleep,
    waitForRuns,
    waitForWidgets
} from "./helpers";

const chromiumPath = chromiumForTests();

/** What the Mendix 7 Java Notify action sends (with pusher-http-java), verbatim. */
const HISTORIC_PAYLOAD =
    '{"changedDate":"1764583200000","sender":"MxAdmin","guid":"281474976710657","entity":"Sales.Order","actionName":"refresh"}';

/** Imports mendix/session in the page (a string, so the test runner does not rewrite the import). */
const IMPORT_SESSION = `import("mendix/session").then(module => module.getUserName(), error => "failed: " + error)`;

/**
 * The page as a Mendix client that does not provide `mendix/session`: loading the module fails. (Served as a
 * 404 rather than left out of the import map: a page whose HTML the test rewrote would count as another network
 * to Chromium, which then blocks its WebSocket to 127.0.0.1.) A static import of the module would stop the
 * whole widget from loading.
 */
async function withoutMendixSession(page: Page): Promise<void> {
    await page.route("**/playground/vendor/mendix-session.js", route =>
        route.fulfill({ status: 404, contentType: "text/plain", body: "not provided by this Mendix client" })
    );
}

describe.skipIf(!chromiumPath)("migrating from the Mendix 7 module and the Pusher module v4", () => {
    const suite = browserSuite(chromiumPath);

    it("the Mendix 7 Java payload through the Pusher HTTP API (pusher SDK) runs the action with its changed date", async () => {
        const server = await suite.start();
        const page = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        const [widget] = await waitForWidgets(page.page, "listening");
        expect(widget.channel).toBe(`private-${OBJECT_1.entity}.${OBJECT_1.guid}`);

        // What the old Java action does: trigger on the object's channel, event = action name, data = the JSON text.
        const sdk = new Pusher({
            appId: BROKER.appId,
            key: BROKER.key,
            secret: BROKER.secret,
            host: "127.0.0.1",
            port: String(server.port),
            useTLS: false
        });
        const response = await sdk.trigger(widget.channel, "refresh", HISTORIC_PAYLOAD);
        expect(response.status).toBe(200);

        const [run] = await waitForRuns(page.page, 1);
        expect(run).toMatchObject({
            action: "refresh",
            object: OBJECT_1.guid,
            sender: "MxAdmin",
            // 1764583200000 ms after the epoch, not an empty Changed date.
            changedDate: "2025-12-01T10:00:00.000Z",
            data: ""
        });
        expect(page.pageErrors).toEqual([]);
    });

    it("runs an action whose name has a space: 'Refresh order', sent with /notify", async () => {
        const server = await suite.start({ actions: ["refresh", "Refresh order"] });
        const page = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(page.page, "listening");
        await notify(server, { ...OBJECT_1, action: "Refresh order", sender: "mary", changedDate: "1764583200000" });
        const [run] = await waitForRuns(page.page, 1);
        expect(run).toMatchObject({ action: "Refresh order", sender: "mary", changedDate: "2025-12-01T10:00:00.000Z" });
        // "refresh" is another entry: it did not run for "Refresh order".
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary" });
        const runs = await waitForRuns(page.page, 2);
        expect(runs.map(entry => entry.action)).toEqual(["Refresh order", "refresh"]);
        expect(page.pageErrors).toEqual([]);
    });

    it("the built widget imports mendix/session only dynamically", () => {
        const source = findWidgetBuild()!.read(WIDGET_MODULE)!.toString("utf8");
        expect(source).toMatch(/\bimport\(\s*["']mendix\/session["']\s*\)/);
        expect(source).not.toMatch(/\b(?:from|import)\s*["']mendix\/session["']/);
    });

    it("loads and works without mendix/session: CSRF token and user name from the documented mx.session API", async () => {
        const server = await suite.start();
        const page = await suite.open(
            server,
            { user: "john", object: OBJECT_1.guid, ignoreOwn: 1 },
            withoutMendixSession
        );
        // The client really lacks the module: importing it fails on this page.
        await expect(page.page.evaluate(IMPORT_SESSION)).resolves.toMatch(/^failed/);
        // The widget still loaded, its subscription was signed (the access check got the CSRF token) ...
        await waitForWidgets(page.page, "listening");
        const access = server.mendix.accessLog.filter(entry => entry.user === "john");
        expect(access.length).toBeGreaterThan(0);
        expect(access.every(entry => entry.status === 200)).toBe(true);

        // ... Ignore own notifications knows the user (john's own is skipped), and other notifications run.
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "john" });
        await sleep(500);
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "from mary" });
        const runs = await waitForRuns(page.page, 1);
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ sender: "mary", data: "from mary" });
        expect(page.pageErrors).toEqual([]);
    });

    it("and with mendix/session provided, the same page works the same", async () => {
        const server = await suite.start();
        const page = await suite.open(server, { user: "john", object: OBJECT_1.guid, ignoreOwn: 1 });
        await expect(page.page.evaluate(IMPORT_SESSION)).resolves.toBe("john");
        await waitForWidgets(page.page, "listening");
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "john" });
        await sleep(500);
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary" });
        const runs = await waitForRuns(page.page, 1);
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ sender: "mary" });
        expect(page.pageErrors).toEqual([]);
    });
});
