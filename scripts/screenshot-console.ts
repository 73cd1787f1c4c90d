/**
 * Screenshot of the operator console: `npx tsx scripts/screenshot-console.ts [output.png]`.
 *
 * Starts the server with the playground and a random METRICS_TOKEN on 127.0.0.1 (ephemeral port), opens three
 * playground pages in headless Chromium (john on two orders, eve, whose subscription the access check refuses),
 * sends a few notifications the way microflows do (single and batch), then opens /console with the token as the
 * HTTP Basic password, waits for two refreshes (so the rate shows) and saves a 1280x900 PNG (default
 * docs/images/console.png). Prints the /metrics lines of the server's own metrics after the session. Needs
 * `npm run build` first (the playground mounts the built widget).
 */
import { randomBytes } from "node:crypto";
import { runScreenshot } from "./lib/screenshot-session";

const VIEWPORT = { width: 1280, height: 900 };
const ORDERS = ["281474976710657", "281474976710658"];

const token = randomBytes(24).toString("hex");

runScreenshot(
    { image: "docs/images/console.png", env: { METRICS_TOKEN: token } },
    async ({ browser, base, config, save }) => {
        const notify = async (route: string, body: unknown): Promise<void> => {
            const response = await fetch(`${base}/rest/pusher/${route}`, {
                method: "POST",
                headers: { Authorization: `Bearer ${config.notifyApiKey}`, "Content-Type": "application/json" },
                body: JSON.stringify(body)
            });
            if (!response.ok) {
                throw new Error(`notify answered ${response.status}: ${await response.text()}`);
            }
        };
        // The pages an operator watches: two of john's tabs (one with three widgets) and eve, who may not listen.
        for (const query of [
            `user=john&object=${ORDERS[0]}&widgets=3`,
            `user=john&object=${ORDERS[1]}`,
            `user=eve&object=${ORDERS[0]}`
        ]) {
            const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
            const page = await context.newPage();
            await page.goto(`${base}/?${query}`);
            await page.waitForSelector("[data-listen-state]", { state: "attached", timeout: 15_000 });
        }
        await new Promise(resolve => setTimeout(resolve, 1_000));

        await notify("notify", {
            entity: "Sales.Order",
            guid: ORDERS[0],
            action: "refresh",
            sender: "john",
            data: "Status changed to Shipped"
        });
        await notify("notify", { entity: "Sales.Order", guid: ORDERS[1], action: "showMessage", data: "Paid" });
        await notify("notify/batch", {
            notifications: [
                ...ORDERS.map(guid => ({ entity: "Sales.Order", guid, action: "refresh" })),
                ...[1003, 1004, 1005].map(number => ({ topic: `Sales.Order.number.${number}`, action: "refresh" }))
            ]
        });

        const context = await browser.newContext({
            viewport: VIEWPORT,
            deviceScaleFactor: 1,
            httpCredentials: { username: "ops", password: token }
        });
        const page = await context.newPage();
        page.on("pageerror", error => console.error("page error:", error.message));
        await page.goto(`${base}/console`);
        await page.waitForSelector("[data-testid=console-status][data-state=live]", { timeout: 10_000 });
        // A notification while the console is open: the next refresh shows it and a rate above zero.
        await notify("notify", { entity: "Sales.Order", guid: ORDERS[0], action: "refresh", sender: "anna" });
        await page.waitForFunction(
            () => document.querySelector("[data-testid=card-notifications] .note")?.textContent?.includes("/s now"),
            undefined,
            { timeout: 10_000 }
        );
        await page.waitForFunction(
            () => document.querySelectorAll("[data-testid=recent] tbody tr").length >= 8,
            undefined,
            { timeout: 10_000 }
        );
        await save(page);

        const metrics = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
        const own = (await metrics.text())
            .split("\n")
            .filter(
                line =>
                    (line.startsWith("notifylisten_") && !/_bucket\{/.test(line)) ||
                    /^(process_resident_memory_bytes|nodejs_heap_size_used_bytes|nodejs_eventloop_lag_p99_seconds) /.test(
                        line
                    )
            );
        console.log(
            `\n/metrics after the session (the server's own series and three process defaults; histogram buckets left out):\n`
        );
        console.log(own.join("\n"));
    }
);
