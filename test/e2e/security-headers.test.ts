/**
 * Browser end-to-end for finding 6 of the security review: under its Content Security Policy the playground
 * still works in Chromium (widget listening over its WebSocket, the Notify form through the relay) without a
 * single policy violation, and another site cannot frame it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { browserSuite, chromiumForTests, OBJECT_1, waitForRuns, waitForWidgets } from "./helpers";

const chromiumPath = chromiumForTests();

describe.skipIf(!chromiumPath)("the playground under its Content Security Policy", () => {
    const suite = browserSuite(chromiumPath);
    const extra: http.Server[] = [];
    afterEach(async () => {
        await Promise.all(extra.splice(0).map(server => new Promise<void>(resolve => server.close(() => resolve()))));
    });

    it("works without a policy violation: widget listening, Notify form relayed, action run", async () => {
        const server = await suite.start();
        const violations: string[] = [];
        const opened = await suite.open(server, { user: "john", object: OBJECT_1.guid }, async page => {
            await page.exposeFunction("reportViolation", (text: string) => violations.push(text));
            await page.addInitScript(() => {
                document.addEventListener("securitypolicyviolation", event => {
                    (window as unknown as { reportViolation(text: string): void }).reportViolation(
                        `${event.violatedDirective} ${event.blockedURI}`
                    );
                });
            });
            page.on("console", message => {
                if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
            });
        });
        const { page } = opened;
        const csp = await page.evaluate(async () => (await fetch("/")).headers.get("content-security-policy"));
        expect(csp).toMatch(/frame-ancestors 'none'/);
        await waitForWidgets(page, "listening");
        await page.fill("input[name=data]", "under CSP");
        await page.click("[data-testid=notify-button]");
        await page.waitForSelector("[data-testid=notify-result].result-ok", { timeout: 5_000 });
        const runs = await waitForRuns(page, 1, 5_000);
        expect(runs[0]).toMatchObject({ action: "refresh", data: "under CSP" });
        expect(opened.websockets.length).toBeGreaterThan(0);
        expect(violations).toEqual([]);
        expect(opened.pageErrors).toEqual([]);
    });

    it("cannot be framed by another site", async () => {
        const server = await suite.start();
        const framer = http.createServer((_req, res) => {
            res.writeHead(200, { "Content-Type": "text/html" }).end(
                `<!doctype html><title>framer</title><iframe id="victim" src="${server.url}/"></iframe>`
            );
        });
        extra.push(framer);
        await new Promise<void>(resolve => framer.listen(0, "127.0.0.1", resolve));
        const framerUrl = `http://127.0.0.1:${(framer.address() as AddressInfo).port}/`;
        const opened = await suite.open(server, { user: "john" });
        await opened.page.goto(framerUrl);
        await opened.page.waitForLoadState("load");
        const child = opened.page.frames().find(frame => frame !== opened.page.mainFrame());
        expect(child).toBeDefined();
        // The blocked frame never shows the playground (Chromium puts an error page there instead).
        const hasPlayground = await child!
            .evaluate(() => document.getElementById("playground-data") !== null)
            .catch(() => false);
        expect(hasPlayground).toBe(false);
    });
});
