/**
 * Screenshot of the playground's modes (issue 14): `npx tsx scripts/screenshot-modes.ts [output.png]`.
 *
 * Starts the server with the playground on 127.0.0.1 (ephemeral port) and opens the same order as mary and as john
 * in two headless Chromium windows, with "Show who else is viewing" and the layout's user and broadcast widgets on.
 * From mary's window it notifies the user john (a toast in john's pages only) and the broadcast `all` (a banner in
 * every page), then saves john's window as a 1280x800 PNG (default docs/images/playground-modes.png): the presence
 * list "Also viewing: Mary Jones", the toast and the banner. Needs `npm run build` first.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { createApp } from "../server/app";
import { loadConfig } from "../server/config";
import { CHROMIUM_ARGS, findChromium } from "../test/e2e/chromium";
import { mountPlayground } from "../playground/playground";
import { REPO_ROOT } from "../playground/root";
import { findWidgetBuild } from "../playground/widget-build";

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

async function main(): Promise<void> {
    const output = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, "docs/images/playground-modes.png"));
    const executablePath = findChromium();
    if (!executablePath) {
        throw new Error("No Chromium found: install it (apt-get install -y chromium) or set CHROMIUM_PATH.");
    }
    if (!findWidgetBuild()) {
        throw new Error("The Listen widget is not built: run `npm run build` first.");
    }

    const config = loadConfig({ LOG_LEVEL: "warn" });
    const app = await createApp(config, { extend: mountPlayground });
    const base = await app.listen(0, "127.0.0.1");
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    try {
        const mary = await openAs(browser, base, "mary");
        const john = await openAs(browser, base, "john");
        await john.waitForSelector(".widget-host .widget-listen-viewer", { timeout: 10_000 });

        await notifyFrom(mary, "user:john", "Your export of 1,204 orders is ready.");
        await john.waitForSelector("[data-testid=toast]", { timeout: 10_000 });
        await notifyFrom(mary, "broadcast:all", "Maintenance tonight from 22:00 to 22:30: save your work.");
        await john.waitForSelector("[data-testid=banner]", { timeout: 10_000 });
        await john.waitForSelector("[data-testid=viewers-event]", { timeout: 10_000 });

        // No hover or focus ring in the picture.
        await john.mouse.move(0, VIEWPORT.height - 1);
        await john.waitForTimeout(300);
        mkdirSync(path.dirname(output), { recursive: true });
        await john.screenshot({ path: output, fullPage: false });
        console.log(`Saved ${path.relative(process.cwd(), output)} (${VIEWPORT.width}x${VIEWPORT.height}).`);
    } finally {
        await browser.close();
        await app.close();
    }
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
