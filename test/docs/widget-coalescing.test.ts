/**
 * docs/widget.md, "When the action runs": the settle time it names is the dispatcher's, and "Seeing what the widget
 * decided" names the widget's trace event and every outcome it can report.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DISPATCH_EVENT, type DispatchOutcome } from "../../protocol/trace";
import { SETTLE_MS } from "../../src/utils/dispatcher";

const WIDGET_MD = readFileSync(path.join(__dirname, "../../docs/widget.md"), "utf8");

/** Every outcome, once (the Record makes TypeScript insist on each). */
const OUTCOMES: Record<DispatchOutcome, true> = {
    ran: true,
    delayed: true,
    merged: true,
    coalesced: true,
    "ignored-own": true,
    "unknown-action": true,
    "no-action": true,
    skipped: true
};

describe("docs/widget.md: when the action runs", () => {
    it("names the dispatcher's settle time", () => {
        expect(SETTLE_MS % 1000).toBe(0);
        const seconds = SETTLE_MS / 1000;
        expect(WIDGET_MD).toContain(`### The settle time: why ${seconds} second`);
        expect(WIDGET_MD).toContain(`has not shown ${seconds} second after the start`);
    });

    it("names the trace event and every outcome it reports", () => {
        expect(WIDGET_MD).toContain(`document.addEventListener("${DISPATCH_EVENT}"`);
        for (const outcome of Object.keys(OUTCOMES)) {
            expect(WIDGET_MD, outcome).toContain(`\`${outcome}\``);
        }
    });
});
