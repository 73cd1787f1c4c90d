/**
 * Global setup of the e2e project (vitest.config.ts): runs once, before the first browser test. Builds the
 * Listen widget when dist/ is missing or stale, so `npm install && npm test` on a fresh clone runs the browser
 * tests against the widget as it ships, and no browser test sees a half-written dist/.
 */
import { ensureWidgetBuild } from "../../scripts/widget-build.mjs";

export function setup(): void {
    const reason = ensureWidgetBuild();
    if (reason !== undefined) {
        console.log(`Built the Listen widget for the browser tests (${reason}).`);
    }
}
