import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatTable, type ResultsInput, type Section, writeResults } from "../report";

const dir = mkdtempSync(path.join(os.tmpdir(), "bench-report-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const section: Section = {
    id: "demo",
    title: "Demo",
    method: "How it was measured.",
    tables: [{ head: ["a", "value"], rows: [["first", "1.5"]] }],
    targets: [{ what: "demo ratio", goal: "<= 2x", value: "1.5x", met: true }],
    notes: ["a note"],
    raw: { ratio: 1.23456 }
};

function input(file: string): ResultsInput {
    return {
        file,
        machine: {
            cpuModel: "Test CPU",
            cores: 2,
            memory: "1.0 GB",
            node: "v20",
            os: "Linux",
            fdLimit: 1024,
            loadAverage: 0.5
        },
        command: "npm run bench",
        startedAt: new Date("2026-01-01T00:00:00.000Z"),
        durationMs: 1500,
        sections: [section],
        failures: [{ id: "other", error: "boom" }],
        loadAtStart: "0.50 / 0.40 / 0.30",
        loadAtEnd: "0.60 / 0.40 / 0.30"
    };
}

describe("formatTable", () => {
    it("pads every column to its widest cell", () => {
        expect(formatTable({ head: ["name", "n"], rows: [["x", "1000"]] })).toBe(
            ["| name | n    |", "| ---- | ---- |", "| x    | 1000 |"].join("\n")
        );
    });
});

describe("writeResults", () => {
    it("starts with the summary (targets, then the machine), then sections, failures and rounded raw numbers", () => {
        const file = path.join(dir, "fresh.md");
        writeResults(input(file));
        const text = readFileSync(file, "utf8");
        expect(text).toContain("| CPU | Test CPU |");
        expect(text).toContain("| load average (1/5/15 min) at start | 0.50 / 0.40 / 0.30 |");
        expect(text).toMatch(/\| demo ratio \| <= 2x +\| 1.5x +\| met +\|/);
        expect(text).toContain("## Demo");
        expect(text).toContain("- other: boom");
        expect(text).toContain('"ratio": 1.235');
        expect(text).toContain("<!-- findings:start -->");
        expect(text.indexOf("## Summary")).toBeLessThan(text.indexOf("| demo ratio"));
        expect(text.indexOf("| demo ratio")).toBeLessThan(text.indexOf("| CPU | Test CPU |"));
        expect(text).toContain("1 of 1 targets met. 1 measurement(s) failed (below).");
    });

    it("keeps hand-written findings between the markers on a re-run", () => {
        const file = path.join(dir, "kept.md");
        writeFileSync(file, "old\n<!-- findings:start -->\nThe broker is fast.\n<!-- findings:end -->\nold tail\n");
        writeResults(input(file));
        const text = readFileSync(file, "utf8");
        expect(text).toContain("<!-- findings:start -->\nThe broker is fast.\n<!-- findings:end -->");
        expect(text).not.toContain("old tail");
    });
});
