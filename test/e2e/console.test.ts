/**
 * The operator console in Chromium: with the token (HTTP Basic, as a person types it into the browser's dialog)
 * it shows the live counts of a real playground page and the notification it received, refreshing by itself,
 * under its CSP without a violation and without the payload's data; without the token, or with a wrong one, the
 * browser gets 401 and no figure. The playground links to it.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
    chromiumForTests,
    launchBrowser,
    notify,
    OBJECT_1,
    openPlayground,
    requireWidgetBuild,
    startServer,
    waitForWidgets,
    type TestServer
} from "./helpers";

const chromiumPath = chromiumForTests();
const METRICS_TOKEN = "e2e-metrics-token-0123456789abcdefghijklmn";
const SECRET_DATA = "payload-data-the-console-never-shows";

describe.skipIf(!chromiumPath)("the operator console in Chromium", () => {
    let browser: Browser;
    let server: TestServer;
    const contexts: BrowserContext[] = [];

    beforeAll(async () => {
        requireWidgetBuild();
        browser = await launchBrowser(chromiumPath!);
        server = await startServer({ env: { METRICS_TOKEN } });
    });
    afterEach(async () => {
        await Promise.all(contexts.splice(0).map(context => context.close()));
    });
    afterAll(async () => {
        await server?.close();
        await browser?.close();
    });

    async function consolePage(credentials?: { username: string; password: string }) {
        const context = await browser.newContext({
            httpCredentials: credentials,
            viewport: { width: 1280, height: 900 }
        });
        contexts.push(context);
        const page = await context.newPage();
        const violations: string[] = [];
        const errors: string[] = [];
        await page.exposeFunction("reportViolation", (text: string) => violations.push(text));
        await page.addInitScript(() => {
            document.addEventListener("securitypolicyviolation", event => {
                (window as unknown as { reportViolation(text: string): void }).reportViolation(
                    `${event.violatedDirective} ${event.blockedURI}`
                );
            });
        });
        page.on("pageerror", error => errors.push(error.message));
        page.on("console", message => {
            if (message.type() === "error") errors.push(message.text());
        });
        const response = await page.goto(`${server.url}/console`);
        return { page, response, violations, errors };
    }

    const figure = (page: Page, card: string) => page.locator(`[data-testid=${card}-value]`).innerText();

    it("shows a connected page and the notification it received, live, without the payload", async () => {
        const playground = await openPlayground(browser, server, { user: "john", object: OBJECT_1.guid });
        contexts.push(playground.context);
        await waitForWidgets(playground.page, "listening");
        const link = playground.page.locator("[data-testid=console-link]");
        expect(await link.getAttribute("href")).toBe("/console");

        const { page, response, violations, errors } = await consolePage({ username: "ops", password: METRICS_TOKEN });
        expect(response?.status()).toBe(200);
        await page.waitForSelector("[data-testid=console-status][data-state=live]", { timeout: 10_000 });
        expect(await figure(page, "card-connections")).toBe("1");
        expect(await figure(page, "card-subscriptions")).toBe("1");
        await page.waitForSelector("[data-testid=recent] .empty:text('No notification since the start.')");

        await notify(server, { ...OBJECT_1, action: "refresh", data: SECRET_DATA });
        // No reload: the page asks for new figures by itself.
        const row = page.locator("[data-testid=recent] tbody tr").first();
        await row.waitFor({ timeout: 10_000 });
        const cells = await row.locator("td").allInnerTexts();
        expect(cells.slice(1, 3)).toEqual([`private-${OBJECT_1.entity}.${OBJECT_1.guid}`, "refresh"]);
        expect(cells[4]).toBe("1 socket");
        await page.waitForFunction(
            () => document.querySelector("[data-testid=card-notifications-value]")?.textContent === "1"
        );
        const busiest = await page.locator("[data-testid=busiest] tbody tr td").allInnerTexts();
        expect(busiest).toEqual([`private-${OBJECT_1.entity}.${OBJECT_1.guid}`, "1"]);
        expect(await page.content()).not.toContain(SECRET_DATA);
        expect(violations).toEqual([]);
        expect(errors).toEqual([]);
    });

    it("is refused without the token and with a wrong one", async () => {
        for (const credentials of [undefined, { username: "ops", password: "not-the-metrics-token" }]) {
            const context = await browser.newContext({ httpCredentials: credentials });
            contexts.push(context);
            const page = await context.newPage();
            // Chromium answers a refused HTTP Basic challenge with its own error page (or shows the 401): no console.
            const attempt = await page.goto(`${server.url}/console`).then(
                answer => answer?.status(),
                (error: Error) => error.message
            );
            expect(String(attempt), JSON.stringify(credentials)).toMatch(/401|ERR_INVALID_AUTH_CREDENTIALS/);
            expect(await page.locator("[data-testid=card-connections]").count()).toBe(0);
        }

        // What the page's script would get from this origin without the token: 401 everywhere, no figure.
        const context = await browser.newContext();
        contexts.push(context);
        const page = await context.newPage();
        await page.goto(`${server.url}/healthz`);
        const answers = await page.evaluate(async () => {
            const wrong = { Authorization: `Basic ${btoa("ops:not-the-metrics-token")}` };
            const read = async (path: string, headers?: Record<string, string>) => {
                // credentials "omit": the script's own header only, so Chromium does not open its sign-in dialog.
                const response = await fetch(path, { headers, credentials: "omit" });
                return { status: response.status, text: await response.text() };
            };
            return [
                await read("/console"),
                await read("/console/data.json"),
                await read("/console/data.json", wrong),
                await read("/console/console.js", wrong),
                await read("/metrics", wrong)
            ];
        });
        for (const answer of answers) {
            expect(answer.status).toBe(401);
            expect(answer.text).toMatch(/"code":"(missing|invalid)_metrics_token"/);
            expect(answer.text).not.toContain("notifylisten_");
            expect(answer.text).not.toContain("private-");
        }
    });
});
