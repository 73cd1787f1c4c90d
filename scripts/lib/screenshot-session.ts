/**
 * What the screenshot scripts share: a server with the playground on 127.0.0.1 (ephemeral port), headless Chromium,
 * and saving one page as a PNG. `runScreenshot` checks Chromium and the widget build first, closes everything
 * afterwards and exits 1 with the message when something fails.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { createApp } from "../../server/app";
import { loadConfig, type Config } from "../../server/config";
import { CHROMIUM_ARGS, findChromium } from "../../test/e2e/chromium";
import { mountPlayground } from "../../playground/playground";
import { REPO_ROOT } from "../../playground/root";
import { findWidgetBuild } from "../../playground/widget-build";

export interface ScreenshotSession {
    browser: Browser;
    /** The server's base URL, `http://127.0.0.1:<port>`. */
    base: string;
    config: Config;
    /** Saves `page` (its viewport, without a hover or focus ring) to the output path. */
    save(page: Page): Promise<void>;
}

export interface ScreenshotOptions {
    /** Default output, relative to the repository root; the first command-line argument overrides it. */
    image: string;
    /** Environment variables for the server (LOG_LEVEL is warn). */
    env?: Record<string, string>;
}

export function runScreenshot(options: ScreenshotOptions, shoot: (session: ScreenshotSession) => Promise<void>): void {
    session(options, shoot).catch((error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    });
}

async function session(options: ScreenshotOptions, shoot: (session: ScreenshotSession) => Promise<void>) {
    const output = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, options.image));
    const executablePath = findChromium();
    if (!executablePath) {
        throw new Error("No Chromium found: install it (apt-get install -y chromium) or set CHROMIUM_PATH.");
    }
    if (!findWidgetBuild()) {
        throw new Error("The Listen widget is not built: run `npm run build` first.");
    }
    const config = loadConfig({ LOG_LEVEL: "warn", ...options.env });
    const app = await createApp(config, { extend: mountPlayground });
    const base = await app.listen(0, "127.0.0.1");
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    const save = async (page: Page): Promise<void> => {
        const viewport = page.viewportSize() ?? { width: 0, height: 0 };
        await page.mouse.move(0, viewport.height - 1);
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        await page.waitForTimeout(300);
        mkdirSync(path.dirname(output), { recursive: true });
        await page.screenshot({ path: output, fullPage: false });
        console.log(`Saved ${path.relative(process.cwd(), output)} (${viewport.width}x${viewport.height}).`);
    };
    try {
        await shoot({ browser, base, config, save });
    } finally {
        await browser.close();
        await app.close();
    }
}
