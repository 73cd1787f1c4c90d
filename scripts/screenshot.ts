/**
 * README screenshot of the playground: `npx tsx scripts/screenshot.ts [output.png]`.
 *
 * Starts the server with the playground on 127.0.0.1 (ephemeral port), opens `/` in headless Chromium
 * as john, sends one notification with the page's Notify form, waits until the action log shows the
 * run and the Notify card what the page did with it, and saves a 1280x800 PNG (default docs/images/playground.png). Needs `npm run build` first.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { createApp } from "../server/app";
import { loadConfig } from "../server/config";
import { CHROMIUM_ARGS, findChromium } from "../test/e2e/chromium";
import { mountPlayground } from "../playground/playground";
import { REPO_ROOT } from "../playground/root";
import { findWidgetBuild } from "../playground/widget-build";

const VIEWPORT = { width: 1280, height: 800 };

async function main(): Promise<void> {
    const output = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, "docs/images/playground.png"));
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
        const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
        const page = await context.newPage();
        page.on("pageerror", error => console.error("page error:", error.message));
        await page.goto(`${base}/?user=john`);
        await page.waitForSelector('[data-listen-state="listening"]', { state: "attached", timeout: 15_000 });

        await page.fill("input[name=data]", "Status changed to Shipped");
        await page.click("[data-testid=notify-button]");
        await page.waitForSelector("[data-testid=action-run][data-status=done]", { timeout: 10_000 });
        await page.waitForSelector("[data-testid=notify-result]", { timeout: 10_000 });
        // The Notify card's summary of what the page's widgets did with it.
        await page.waitForSelector("[data-testid=notify-outcome]", { timeout: 10_000 });
        // No hover or focus ring in the picture.
        await page.mouse.move(0, VIEWPORT.height - 1);
        await page.locator("input[name=data]").blur();
        await page.waitForTimeout(300);

        mkdirSync(path.dirname(output), { recursive: true });
        await page.screenshot({ path: output, fullPage: false });
        console.log(`Saved ${path.relative(process.cwd(), output)} (${VIEWPORT.width}x${VIEWPORT.height}).`);
        await context.close();
    } finally {
        await browser.close();
        await app.close();
    }
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
