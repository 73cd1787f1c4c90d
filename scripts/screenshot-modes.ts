/**
 * Screenshot of the playground's modes (issue 14): `npx tsx scripts/screenshot-modes.ts [output.png]`.
 *
 * Starts the server with the playground on 127.0.0.1 (ephemeral port) and opens the same order as mary and as john
 * in two headless Chromium windows, with "Show who else is viewing" and the layout's user and broadcast widgets on.
 * From mary's window it notifies the user john (a toast in john's pages only) and the broadcast `all` (a banner in
 * every page), then saves john's window as a 1280x800 PNG (default docs/images/playground-modes.png): the presence
 * list "Also viewing: Mary Jones", the toast and the banner. Needs `npm run build` first.
 */
import type { Browser, Page } from "playwright-core";
import { runScreenshot } from "./lib/screenshot-session";

const VIEWPORT = { width: 1280, height: 800 };
const ORDER = "281474976710657";

async function openAs(browser: Browser, base: string, user: string): Promise<Page> {
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on("pageerror", error => console.error(`page error (${user}):`, error.message));
    await page.goto(`${base}/?user=${user}&object=${ORDER}&viewers=1&layout=1`);
    await page.waitForSelector('.widget-host [data-listen-state="listening"]', { state: "attached", timeout: 15_000 });
    await page.waitForSelector('.layout-host [data-listen-state="listening"]', { state: "attached", timeout: 15_000 });
    return page;
}

/** Sends one notification with the page's Notify form, to `target` (a value of its Target list). */
async function notifyFrom(page: Page, target: string, data: string): Promise<void> {
    await page.selectOption("select[name=target]", target);
    await page.fill("input[name=data]", data);
    const result = page.locator("[data-testid=notify-result]");
    const answers = (await result.count()) === 0 ? 0 : Number(await result.getAttribute("data-answer"));
    await page.click("[data-testid=notify-button]");
    await page.waitForSelector(`[data-testid=notify-result][data-answer="${answers + 1}"].result-ok`, {
        timeout: 10_000
    });
}

runScreenshot({ image: "docs/images/playground-modes.png" }, async ({ browser, base, save }) => {
    const mary = await openAs(browser, base, "mary");
    const john = await openAs(browser, base, "john");
    await john.waitForSelector(".widget-host .widget-listen-viewer", { timeout: 10_000 });

    await notifyFrom(mary, "user:john", "Your export of 1,204 orders is ready.");
    await john.waitForSelector("[data-testid=toast]", { timeout: 10_000 });
    await notifyFrom(mary, "broadcast:all", "Maintenance tonight from 22:00 to 22:30: save your work.");
    await john.waitForSelector("[data-testid=banner]", { timeout: 10_000 });
    await john.waitForSelector("[data-testid=viewers-event]", { timeout: 10_000 });

    await save(john);
});
