/**
 * README screenshot of the playground: `npx tsx scripts/screenshot.ts [output.png]`.
 *
 * Starts the server with the playground on 127.0.0.1 (ephemeral port), opens `/` in headless Chromium
 * as john, sends one notification with the page's Notify form, waits until the action log shows the
 * run and the Notify card what the page did with it, and saves a 1280x800 PNG (default docs/images/playground.png). Needs `npm run build` first.
 */
import { runScreenshot } from "./lib/screenshot-session";

const VIEWPORT = { width: 1280, height: 800 };

runScreenshot({ image: "docs/images/playground.png" }, async ({ browser, base, save }) => {
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

    await save(page);
    await context.close();
});
