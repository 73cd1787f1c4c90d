/**
 * Browser end-to-end: the playground explains what happened. Every notification leaves a trace per widget in the
 * action log (ran, merged into a running or delayed run and which, skipped as own, no such action, not received,
 * refused), naming the object and topic it came from, grouped per object; the coalescing rules show; the chips show
 * their state and reset together; the demo sessions survive a server restart; and it all works 390 px wide.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { createFakeMendix } from "../../playground/runtime";
import {
    actionLog,
    browserSuite,
    chromiumForTests,
    NOTIFY_API_KEY,
    notify,
    OBJECT_1,
    OBJECT_2,
    type TestServer,
    sleep,
    waitForRuns,
    waitForWidgets
} from "./helpers";

const chromiumPath = chromiumForTests();

const CHANNEL_1 = `private-${OBJECT_1.entity}.${OBJECT_1.guid}`;
const CHANNEL_2 = `private-${OBJECT_2.entity}.${OBJECT_2.guid}`;

interface Notice {
    outcome: string;
    widget: string;
    action: string;
    object: string;
    channel: string;
    run: string;
    settling: string;
    data: string;
    fate: string;
    text: string;
}

/** The log's notices (notifications that did not start a run), oldest first. */
async function notices(page: Page): Promise<Notice[]> {
    const found = await page.$$eval("[data-testid=action-notice]", items =>
        items.map(item => {
            const data = (item as HTMLElement).dataset;
            return {
                outcome: data.outcome ?? "",
                widget: data.widget ?? "",
                action: data.action ?? "",
                object: data.object ?? "",
                channel: data.channel ?? "",
                run: data.run ?? "",
                settling: data.settling ?? "",
                data: data.data ?? "",
                fate: data.fate ?? "",
                text: item.textContent ?? ""
            };
        })
    );
    return found.reverse();
}

async function waitForNotices(page: Page, count: number, timeout = 5_000): Promise<Notice[]> {
    try {
        await page.waitForFunction(
            count => document.querySelectorAll("[data-testid=action-notice]").length >= count,
            count,
            { timeout, polling: 25 }
        );
    } catch (error) {
        throw new Error(`Expected ${count} notice(s), the log shows ${JSON.stringify(await notices(page))}: ${error}`);
    }
    return notices(page);
}

/** Presses Notify with these form values; waits for the server's answer. */
async function notifyWithForm(
    page: Page,
    values: { action?: string; data?: string; sender?: string; count?: number; target?: string } = {}
): Promise<string> {
    if (values.target !== undefined) await page.selectOption("select[name=target]", values.target);
    if (values.action !== undefined) await page.fill("input[name=action]", values.action);
    if (values.data !== undefined) await page.fill("input[name=data]", values.data);
    if (values.sender !== undefined) await page.fill("input[name=sender]", values.sender);
    if (values.count !== undefined) await page.fill("input[name=count]", String(values.count));
    const answers = () =>
        page.evaluate(() =>
            Number(document.querySelector<HTMLElement>("[data-testid=notify-result]")?.dataset.answer ?? 0)
        );
    const before = await answers();
    await page.click("[data-testid=notify-button]");
    await page.waitForFunction(
        before =>
            Number(document.querySelector<HTMLElement>("[data-testid=notify-result]")?.dataset.answer ?? 0) > before,
        before,
        { timeout: 5_000, polling: 25 }
    );
    return (await page.textContent("[data-testid=notify-result]")) ?? "";
}

/** The Notify card's summary of what this page's widgets did with the last press, once it says `pattern`. */
async function outcome(page: Page, pattern: RegExp): Promise<{ tone: string; text: string }> {
    await page.waitForFunction(
        source => new RegExp(source).test(document.querySelector("[data-testid=notify-outcome]")?.textContent ?? ""),
        pattern.source,
        { timeout: 5_000, polling: 25 }
    );
    return page.$eval("[data-testid=notify-outcome]", element => ({
        tone: (element as HTMLElement).dataset.tone ?? "",
        text: element.textContent ?? ""
    }));
}

/** POST /rest/pusher/notify/batch: the notifications in this order, in one call. */
async function notifyBatch(server: TestServer, data: string[], action = "refresh"): Promise<void> {
    const response = await fetch(`${server.url}/rest/pusher/notify/batch`, {
        method: "POST",
        headers: { Authorization: `Bearer ${NOTIFY_API_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ notifications: data.map(text => ({ ...OBJECT_1, action, sender: "mary", data: text })) })
    });
    expect(response.status, await response.clone().text()).toBe(200);
}

describe.skipIf(!chromiumPath)("the playground explains what happened", () => {
    const suite = browserSuite(chromiumPath);

    it("an action name no widget has and a notification the server refuses leave a trace", async () => {
        const server = await suite.start();
        const { page } = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(page, "listening");

        await notifyWithForm(page, { action: "refrsh", data: "typo" });
        const [typo] = await waitForNotices(page, 1);
        expect(typo).toMatchObject({
            outcome: "unknown-action",
            widget: "listen1",
            action: "refrsh",
            object: OBJECT_1.guid,
            channel: CHANNEL_1,
            data: "typo"
        });
        expect(typo.text).toContain("no such action");
        expect(typo.text).toContain("Order 1001");
        expect(typo.text).toContain('"refresh", "showMessage"');
        await expect(outcome(page, /no such action/)).resolves.toMatchObject({ tone: "warn" });

        // A name Pusher refuses: the server answers 400 and the log says nobody got it.
        const refusedResult = await notifyWithForm(page, { action: "pusher:refresh" });
        expect(refusedResult).toMatch(/^400/);
        const refused = (await waitForNotices(page, 2)).at(-1)!;
        expect(refused).toMatchObject({ outcome: "refused", action: "pusher:refresh", channel: CHANNEL_1 });
        await expect(outcome(page, /refused/)).resolves.toMatchObject({ tone: "warn" });
        await expect(actionLog(page)).resolves.toEqual([]);
    });

    it("with Ignore own and Topic by key attribute, notifying as yourself says it was skipped as own", async () => {
        const server = await suite.start();
        const { page } = await suite.open(server, { user: "john", ignoreOwn: 1, topic: "key" });
        const [widget] = await waitForWidgets(page, "listening");
        expect(widget.channel).toBe("private-Sales.Order.number.1001");

        await notifyWithForm(page, { data: "saved by john", sender: "john" });
        const [own] = await waitForNotices(page, 1);
        expect(own).toMatchObject({
            outcome: "ignored-own",
            object: OBJECT_1.guid,
            channel: "private-Sales.Order.number.1001",
            data: "saved by john"
        });
        expect(own.text).toMatch(/Ignore own notifications is on/);
        expect(own.text).toContain("private-Sales.Order.number.1001");
        await expect(outcome(page, /skipped: own notification/)).resolves.toMatchObject({ tone: "warn" });

        // From someone else it runs.
        await notifyWithForm(page, { data: "saved by mary", sender: "mary" });
        const [run] = await waitForRuns(page, 1);
        expect(run).toMatchObject({ sender: "mary", data: "saved by mary" });
        await expect(outcome(page, /ran once/)).resolves.toMatchObject({ tone: "ok" });
    });

    it("a burst for an action that never shows isExecuting: one trailing run after the settle time, with the latest payload", async () => {
        const server = await suite.start();
        const { page } = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(page, "listening");

        await notifyBatch(server, ["1", "2", "3", "4", "5"]);
        const runs = await waitForRuns(page, 2, 5_000);
        expect(runs.map(run => [run.data])).toEqual([["1"], ["5"]]);
        const waited = await waitForNotices(page, 4);
        expect(waited.map(notice => [notice.outcome, notice.run, notice.settling, notice.data, notice.fate])).toEqual([
            ["coalesced", "1", "true", "2", "dropped"],
            ["coalesced", "1", "true", "3", "dropped"],
            ["coalesced", "1", "true", "4", "dropped"],
            ["coalesced", "1", "true", "5", "ran #2"]
        ]);
        expect(waited[0].text).toMatch(/merged: waits for run #1/);
        expect(waited[0].text).toMatch(/has not shown isExecuting yet.*at most 1 s \(the settle time\)/);
        expect(waited[0].text).toMatch(/payload dropped/);
        await expect(page.textContent("[data-testid=run-carried]")).resolves.toMatch(
            /trailing run after run #1: 4 notifications waited/
        );
        await expect(page.textContent(".card-log .card-head")).resolves.toMatch(/trailing run waits 1 s/);
    });

    it("a slow action: a notification meanwhile becomes the ONE trailing run after the one that is executing", async () => {
        const server = await suite.start();
        const slow = await suite.open(server, { user: "john", object: OBJECT_1.guid, slowMs: 1_500 });
        await waitForWidgets(slow.page, "listening");

        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "first" });
        await slow.page.waitForSelector("[data-testid=action-run][data-status=running]", { timeout: 5_000 });
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "second" });
        const [merged] = await waitForNotices(slow.page, 1);
        expect(merged).toMatchObject({ outcome: "coalesced", run: "1", settling: "false", data: "second" });
        expect(merged.text).toMatch(/Run #1 is still executing/);
        const runs = await waitForRuns(slow.page, 2, 6_000);
        expect(runs.map(run => run.data)).toEqual(["first", "second"]);
        await slow.page.waitForSelector("[data-testid=action-notice][data-fate='ran #2']", { timeout: 5_000 });
    });

    it("Delay (ms): the first notification waits out the delay, the next joins it, one run with the latest payload", async () => {
        const server = await suite.start();
        const delayed = await suite.open(server, { user: "mary", object: OBJECT_1.guid, delay: 500 });
        await waitForWidgets(delayed.page, "listening");
        await notifyBatch(server, ["first", "second"]);
        const waiting = await waitForNotices(delayed.page, 2);
        expect(waiting.map(notice => notice.outcome)).toEqual(["delayed", "merged"]);
        const [delayedRun] = await waitForRuns(delayed.page, 1, 5_000);
        expect(delayedRun.data).toBe("second");
        await delayed.page.waitForSelector("[data-testid=run-carried]", { timeout: 5_000 });
        await expect(delayed.page.textContent("[data-testid=run-carried]")).resolves.toMatch(
            /delayed run: 2 notifications/
        );
    });

    it("a widget that cannot get the notification says why: another topic, a refused subscription", async () => {
        const server = await suite.start();
        const john = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        const eve = await suite.open(server, { user: "eve", object: OBJECT_1.guid });
        await waitForWidgets(john.page, "listening");
        await waitForWidgets(eve.page, "error");

        await notifyWithForm(john.page, { target: OBJECT_2.guid, data: "for the other order" });
        const [other] = await waitForNotices(john.page, 1);
        expect(other).toMatchObject({ outcome: "not-received", channel: CHANNEL_2, object: OBJECT_2.guid });
        expect(other.text).toContain(`listens to ${CHANNEL_1} (Order 1001)`);
        expect(other.text).toContain("Order 1002");

        await notifyWithForm(eve.page, { data: "eve tries" });
        const [refused] = await waitForNotices(eve.page, 1);
        expect(refused).toMatchObject({ outcome: "not-received", channel: CHANNEL_1 });
        expect(refused.text).toMatch(/is not subscribed/);
        await expect(outcome(eve.page, /not received/)).resolves.toMatchObject({ tone: "warn" });
    });

    it("names the object of each entry, and switching objects starts a new group", async () => {
        const server = await suite.start();
        const { page } = await suite.open(server, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(page, "listening");
        await notify(server, { ...OBJECT_1, action: "refresh", sender: "mary", data: "on order 1" });
        const [first] = await waitForRuns(page, 1);
        expect(first).toMatchObject({ object: OBJECT_1.guid });
        await expect(page.textContent("[data-testid=action-run]")).resolves.toContain(`from Order 1001 · ${CHANNEL_1}`);

        await page.click(`.tabs button[data-object="${OBJECT_2.guid}"]`);
        await page.waitForSelector(`[data-listen-channel="${CHANNEL_2}"][data-listen-state=listening]`, {
            state: "attached",
            timeout: 5_000
        });
        const groups = () =>
            page.$$eval("[data-testid=log-group]", items =>
                items.map(item => ({
                    object: (item as HTMLElement).dataset.object,
                    channel: (item as HTMLElement).dataset.channel,
                    entries: item.querySelectorAll("[data-testid=action-run], [data-testid=action-notice]").length
                }))
            );
        // Newest group first: the new object's, still empty; the old one keeps its entry.
        await expect(groups()).resolves.toEqual([
            { object: OBJECT_2.guid, channel: CHANNEL_2, entries: 0 },
            { object: OBJECT_1.guid, channel: CHANNEL_1, entries: 1 }
        ]);
        await notify(server, { ...OBJECT_2, action: "refresh", sender: "mary", data: "on order 2" });
        await waitForRuns(page, 2);
        await expect(groups()).resolves.toEqual([
            { object: OBJECT_2.guid, channel: CHANNEL_2, entries: 1 },
            { object: OBJECT_1.guid, channel: CHANNEL_1, entries: 1 }
        ]);
        await expect(page.textContent("[data-testid=log-group]")).resolves.toContain(`from Order 1002 · ${CHANNEL_2}`);
    });

    it("the chips show which settings are on, and one reset switches them all off", async () => {
        const server = await suite.start();
        const { page } = await suite.open(server, { user: "mary", object: OBJECT_2.guid });
        await waitForWidgets(page, "listening");
        const chips = () =>
            page.$$eval("[data-testid=chip]", items =>
                Object.fromEntries(
                    items.map(item => [(item as HTMLElement).dataset.chip, item.getAttribute("aria-checked")])
                )
            );
        await expect(chips()).resolves.toEqual({
            widgets: "false",
            slowMs: "false",
            delay: "false",
            ignoreOwn: "false",
            topic: "false",
            viewers: "false",
            layout: "false"
        });
        await expect(page.isVisible("[data-testid=chips-reset]")).resolves.toBe(false);

        await Promise.all([page.waitForURL(/ignoreOwn=1/), page.click("[data-testid=chip][data-chip=ignoreOwn]")]);
        await waitForWidgets(page, "listening");
        await Promise.all([page.waitForURL(/topic=key/), page.click("[data-testid=chip][data-chip=topic]")]);
        const [widget] = await waitForWidgets(page, "listening");
        expect(widget.channel).toBe("private-Sales.Order.number.1002");
        await expect(chips()).resolves.toMatchObject({ ignoreOwn: "true", topic: "true", widgets: "false" });
        await expect(page.textContent("[data-testid=chip][data-chip=topic]")).resolves.toMatch(/on$/);
        await expect(page.textContent("[data-testid=chips-summary]")).resolves.toMatch(
            /On: Ignore own notifications, Topic by key attribute/
        );
        // On and off look different (not only a class name).
        const look = (chip: string) =>
            page.$eval(`[data-testid=chip][data-chip=${chip}]`, element => getComputedStyle(element).backgroundColor);
        expect(await look("topic")).not.toBe(await look("widgets"));

        await Promise.all([
            page.waitForURL(url => !url.search.includes("topic=")),
            page.click("[data-testid=chips-reset]")
        ]);
        await waitForWidgets(page, "listening", 1);
        const url = new URL(page.url());
        expect([...url.searchParams.keys()].sort()).toEqual(["object", "user"]);
        expect(url.searchParams.get("user")).toBe("mary");
        await expect(chips()).resolves.toEqual({
            widgets: "false",
            slowMs: "false",
            delay: "false",
            ignoreOwn: "false",
            topic: "false",
            viewers: "false",
            layout: "false"
        });
        const [after] = await waitForWidgets(page, "listening");
        expect(after.channel).toBe(CHANNEL_2);
    });

    it("the demo sessions survive a server restart: a short reconnect, not a sign-out", async () => {
        const sessionSecret = "e2e-playground-session-secret-0123456789";
        const first = await suite.start({ mendix: createFakeMendix({ sessionSecret }) });
        const { page, pageErrors } = await suite.open(first, { user: "john", object: OBJECT_1.guid });
        await waitForWidgets(page, "listening");
        await notify(first, { ...OBJECT_1, action: "refresh", sender: "mary", data: "before" });
        await waitForRuns(page, 1);

        // A new process: a new fake Mendix runtime that knows nothing of the old one's memory, only its key.
        await first.close();
        const second = await suite.start({ port: first.port, mendix: createFakeMendix({ sessionSecret }) });
        // What the widget says meanwhile: reconnecting perhaps, never "not signed in".
        const shown = new Set<string>();
        const deadline = Date.now() + 10_000;
        let listening = false;
        while (!listening && Date.now() < deadline) {
            const text = (await page.textContent(".widget-host")) ?? "";
            if (text.trim() !== "") shown.add(text.trim());
            listening =
                second.mendix.accessLog.some(entry => entry.status === 200 && entry.user === "john") &&
                (await page.$eval(".widget-host [data-listen-state]", e => (e as HTMLElement).dataset.listenState)) ===
                    "listening";
            await sleep(50);
        }
        expect(listening, `the page did not listen again; it showed ${JSON.stringify([...shown])}`).toBe(true);
        expect([...shown].join(" ")).not.toMatch(/not signed in|401/);
        // The restarted runtime accepted the old session cookie and CSRF token: no 401 at all.
        expect(second.mendix.accessLog.filter(entry => entry.status === 401)).toEqual([]);
        await expect(page.textContent("[data-testid=whoami]")).resolves.toContain("john");

        await notify(second, { ...OBJECT_1, action: "refresh", sender: "mary", data: "after" });
        const runs = await waitForRuns(page, 2, 5_000);
        expect(runs.map(run => run.data)).toEqual(["before", "after"]);
        // A reload keeps the same session too (no new cookie, the same user).
        await page.reload();
        await waitForWidgets(page, "listening");
        await expect(page.textContent("[data-testid=whoami]")).resolves.toContain("john");
        expect(pageErrors).toEqual([]);
    });

    it("works 390 px wide: header, object switcher, Notify form in the first screen, and the log", async () => {
        const server = await suite.start();
        const { page, pageErrors } = await suite.open(server, { user: "john", object: OBJECT_1.guid }, async page => {
            await page.setViewportSize({ width: 390, height: 844 });
        });
        await waitForWidgets(page, "listening");
        const overflow = () =>
            page.evaluate(() => {
                const width = document.documentElement.clientWidth;
                const wide = [...document.querySelectorAll<HTMLElement>(".topbar, .topbar *, .card, .tabs, form *")]
                    .filter(element => element.getBoundingClientRect().right > width + 0.5)
                    .map(element => element.className || element.tagName);
                return { scroll: document.documentElement.scrollWidth - width, wide };
            });
        await expect(overflow()).resolves.toEqual({ scroll: 0, wide: [] });

        // Header: who is signed in and the user switcher, on screen.
        for (const selector of ["[data-testid=whoami]", ".users a:last-child"]) {
            const box = await page.locator(selector).boundingBox();
            expect(box, selector).not.toBeNull();
            expect(box!.x + box!.width, selector).toBeLessThanOrEqual(390);
        }
        // The Notify form, with its button, in the first screen.
        const button = await page.locator("[data-testid=notify-button]").boundingBox();
        expect(button!.y + button!.height).toBeLessThanOrEqual(844);

        await notifyWithForm(page, { data: "from a phone" });
        const [run] = await waitForRuns(page, 1);
        expect(run.data).toBe("from a phone");
        await page.locator("[data-testid=action-run]").first().scrollIntoViewIfNeeded();
        await expect(page.locator("[data-testid=action-run]").first().isVisible()).resolves.toBe(true);

        await page.click(`.tabs button[data-object="${OBJECT_2.guid}"]`);
        await page.waitForSelector(`[data-listen-channel="${CHANNEL_2}"][data-listen-state=listening]`, {
            state: "attached",
            timeout: 5_000
        });
        await notify(server, { ...OBJECT_2, action: "refresh", sender: "mary", data: "second object" });
        await waitForRuns(page, 2);
        await expect(overflow()).resolves.toEqual({ scroll: 0, wide: [] });
        expect(pageErrors).toEqual([]);
    });
});
