/**
 * No stale pages under load: 40 pages (the widget's own connection code with real pusher-js, two channels each) reach
 * the server through a TCP proxy; notifications keep coming, single and in batches, before, during and after the
 * proxy cuts every page off for 5 s, so live events race the catch-up of the resubscriptions. Counted per page:
 * duplicated runs 0, lost runs 0 (every notification ran, or a later one of its action and channel did), every
 * notification sent while a page listened steadily ran itself, nothing reported as possibly lost. Then a restart:
 * every page hears that notifications may have been lost, and the next notification runs once everywhere.
 */
import { afterAll, describe, expect, it } from "vitest";
import { RESEND_DELAY_MS } from "../../server/catchup";
import { startProxy, type CuttableProxy } from "../e2e/proxy";
import { BEARER, postJson, sleep, startApp, until, type AppUnderTest } from "./harness";
import { countAllRuns, openWidgetPage, type Sent, type WidgetPage } from "./widget-pages";

const PAGES = 40;
const ACTIONS = ["refresh", "showMessage", "Refresh order"];
const channelsOf = (index: number) => [`private-Rel.Item.${index}`, "private-Rel.All"];

let app: AppUnderTest | undefined;
let proxy: CuttableProxy | undefined;
const pages: WidgetPage[] = [];

afterAll(async () => {
    pages.forEach(page => page.close());
    await proxy?.close();
    await app?.close();
});

/** Sends notifications every `everyMs` until `stop()`: single ones to one page's channel, batches to several. */
async function sendLoad(url: string, sent: Sent[], stop: () => boolean, everyMs = 15): Promise<void> {
    let n = 0;
    const inFlight = new Set<Promise<void>>();
    const notification = () => {
        n++;
        const topic = n % 5 === 0 ? "Rel.All" : `Rel.Item.${n % PAGES}`;
        const action = ACTIONS[n % ACTIONS.length];
        return { topic, action, data: `n${n}` };
    };
    const track = (items: Array<{ topic: string; action: string; data: string }>, path: string, body: unknown) => {
        const at = Date.now();
        const request = postJson(app!.evidence, `${url}${path}`, body, BEARER).then(answer => {
            expect(answer.status).toBe(200);
            for (const item of items) {
                sent.push({ channel: `private-${item.topic}`, action: item.action, data: item.data, at });
            }
        });
        const entry = request.finally(() => inFlight.delete(entry));
        inFlight.add(entry);
    };
    while (!stop()) {
        if (n % 4 === 3) {
            const items = Array.from({ length: 6 }, notification);
            track(items, "/rest/pusher/notify/batch", { notifications: items });
        } else {
            const item = notification();
            track([item], "/rest/pusher/notify", item);
        }
        await sleep(everyMs);
    }
    await Promise.all([...inFlight]);
}

describe("catch-up under load (40 pages, live events racing the catch-up)", () => {
    it("a 5 s cut of every page: 0 duplicated runs, 0 lost runs, nothing reported lost", async () => {
        app = await startApp({ RATE_LIMIT_AUTH: "100000", RATE_LIMIT_NOTIFY: "100000", LOG_LEVEL: "info" });
        proxy = await startProxy(app.url);
        for (let i = 0; i < PAGES; i++) {
            pages.push(openWidgetPage(proxy.url, channelsOf(i), BEARER));
        }
        await until(() => pages.every(page => page.subscribed() === 2), 20_000, "every page to subscribe");

        const sent: Sent[] = [];
        let stop = false;
        const load = sendLoad(app.url, sent, () => stop);
        await sleep(1_000);
        const cutAt = Date.now();
        proxy.cut();
        await sleep(5_000);
        proxy.restore();
        const cuts: Array<[number, number]> = [[cutAt, Date.now()]];
        await until(() => pages.every(page => page.subscribed() === 2), 20_000, "every page to subscribe again");
        // Keep sending through the resubscriptions and their resend window, then let the last deliveries arrive.
        await sleep(RESEND_DELAY_MS + 2_000);
        stop = true;
        await load;
        await sleep(RESEND_DELAY_MS + 1_000);

        const totals = countAllRuns(pages, sent, 1_000, cuts);
        const reconnected = pages.flatMap(page => page.reconnected);
        console.log(
            `[catch-up under load] ${sent.length} notifications sent, ${totals.runs} runs on ${PAGES} pages; ` +
                `duplicated ${totals.duplicated}, lost ${totals.lost}, live lost ${totals.lostLive}, unexpected ${totals.unexpected}`
        );
        expect(sent.length).toBeGreaterThan(500);
        expect(totals).toMatchObject({ duplicated: 0, lost: 0, lostLive: 0, unexpected: 0 });
        // Every channel of every page was interrupted once and heard so, without a possible loss.
        expect(reconnected).toHaveLength(PAGES * 2);
        expect(reconnected.filter(info => info.mayHaveLost)).toEqual([]);
        // Offline from when the page noticed the cut (pusher-js in Node notices a reset connection up to ~1 s late).
        expect(Math.min(...reconnected.map(info => info.offlineMs))).toBeGreaterThan(3_000);
        expect(pages.every(page => page.lost.length === 2)).toBe(true);
        expect(app.evidence.leaks()).toEqual([]);
    });

    it("after a restart every page hears that it may have lost notifications; the next one runs once everywhere", async () => {
        const first = app!;
        const before = pages.map(page => page.reconnected.length);
        first.running.server.close();
        app = await startApp({ RATE_LIMIT_AUTH: "100000", RATE_LIMIT_NOTIFY: "100000" }, { port: first.port });
        await first.close();
        await until(
            () => pages.every((page, i) => page.reconnected.length === before[i] + 2),
            20_000,
            "every page to subscribe again"
        );
        for (const [i, page] of pages.entries()) {
            expect(page.reconnected.slice(before[i]).every(info => info.mayHaveLost)).toBe(true);
        }
        const runsBefore = pages.map(page => page.runs.length);
        const answer = await postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify`,
            { topic: "Rel.All", action: "refresh", data: "after the restart" },
            BEARER
        );
        expect(answer.status).toBe(200);
        await until(
            () => pages.every((page, i) => page.runs.length === runsBefore[i] + 1),
            5_000,
            "every page to run the notification"
        );
        await sleep(RESEND_DELAY_MS + 300);
        expect(pages.every((page, i) => page.runs.length === runsBefore[i] + 1)).toBe(true);
        expect(pages.every(page => page.runs.at(-1)?.data === "after the restart")).toBe(true);
    });
});
