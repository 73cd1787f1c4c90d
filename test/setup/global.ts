/**
 * Vitest global setup: runs once, before any test file of any project. Builds the Listen widget when dist/ is
 * missing or stale, so `npm install && npm test` on a fresh clone runs the browser tests against the widget as
 * it ships, and no test ever sees a half-written dist/ (the build finishes before the first test starts).
 */
import { ensureWidgetBuild } from "../../scripts/widget-build.mjs";

export function setup(): void {
    const reason = ensureWidgetBuild();
    if (reason !== undefined) {
        console.log(`Built the Listen widget for the tests (${reason}).`);
    }
}
