/**
 * docs/observability.md against the code: its metric table lists exactly the metrics the server exports (name,
 * type, labels), the Grafana dashboard and the alert rules use only exported metrics, the alert rules pass
 * `promtool check rules`, and the alert table names exactly the rules in the file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../../server/metrics";
import { parseScrape, promtool, promtoolForTests, type Family } from "./helpers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DOC = readFileSync(path.join(ROOT, "docs/observability.md"), "utf8");
const DASHBOARD_FILE = path.join(ROOT, "docs/grafana/notifylisten-dashboard.json");
const ALERTS_FILE = path.join(ROOT, "docs/prometheus/notifylisten-alerts.yml");
const PROMTOOL = promtoolForTests();

/** Rows of the markdown table under `heading`, as cells. */
function tableUnder(heading: string): string[][] {
    const lines = DOC.split("\n");
    const start = lines.findIndex(line => line === heading);
    expect(start, heading).toBeGreaterThanOrEqual(0);
    const first = lines.findIndex((line, index) => index > start && line.startsWith("|"));
    const rows: string[][] = [];
    for (let index = first + 2; index < lines.length && lines[index].startsWith("|"); index++) {
        rows.push(
            lines[index]
                .slice(1, -1)
                .split("|")
                .map(cell => cell.trim())
        );
    }
    return rows;
}

/** Metric names used in PromQL expressions, histogram series mapped to their family. */
function metricsIn(expression: string): string[] {
    return [...expression.matchAll(/\b(notifylisten_[a-z_]+)/g)].map(match =>
        match[1].replace(/_(bucket|sum|count)$/, "")
    );
}

describe("docs/observability.md", () => {
    let exported: Family[] = [];
    beforeAll(async () => {
        const metrics = createMetrics({ broker: "embedded" });
        metrics.redisAdapter(true);
        exported = parseScrape(await metrics.text()).families.filter(family => family.name.startsWith("notifylisten_"));
    });

    it("lists exactly the metrics the server exports, with their type and labels", () => {
        const rows = tableUnder("## Metrics");
        const documented = rows.map(row => ({
            name: row[0].replace(/`/g, ""),
            type: row[1],
            labels: [...row[2].matchAll(/`([a-z_]+)`(?::|$)/g)].map(match => match[1])
        }));
        const names = exported.map(family => family.name);
        // notifylisten_redis_up is described in the text, not in the table (it exists only with a Redis adapter).
        expect(documented.map(entry => entry.name).sort()).toEqual(
            names.filter(name => name !== "notifylisten_redis_up").sort()
        );
        expect(DOC).toContain("`notifylisten_redis_up`");
        for (const entry of documented) {
            const family = exported.find(candidate => candidate.name === entry.name)!;
            expect(entry.type, entry.name).toBe(family.type);
            const labels = new Set(family.samples.flatMap(sample => Object.keys(sample.labels)));
            labels.delete("le");
            // A label whose values are listed is written `label`: `value`, ...; a bare `kind` stands alone.
            const named = entry.labels.length > 0 ? [entry.labels[0]] : [];
            expect(named, entry.name).toEqual([...labels]);
        }
    });

    it("ships a Grafana dashboard that answers the three questions with exported metrics", () => {
        const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as {
            panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
        };
        expect(dashboard.panels.filter(panel => panel.type === "row").map(panel => panel.title)).toEqual([
            "Are pages connected?",
            "Do notifications go out?",
            "Does the access check work?"
        ]);
        const names = new Set(exported.map(family => family.name));
        const used = dashboard.panels.flatMap(panel => (panel.targets ?? []).flatMap(target => metricsIn(target.expr)));
        expect(used.length).toBeGreaterThan(15);
        expect(used.filter(name => !names.has(name))).toEqual([]);
        for (const block of DOC.matchAll(/```promql\n([\s\S]*?)```/g)) {
            expect(metricsIn(block[1]).filter(name => !names.has(name))).toEqual([]);
        }
    });

    it("ships alert rules on exported metrics, the ones its alert table names", () => {
        const rules = readFileSync(ALERTS_FILE, "utf8");
        const names = new Set(exported.map(family => family.name));
        const used = [...rules.matchAll(/expr: (?:\|\n)?([\s\S]*?)\n\s+(?:for|labels):/g)].flatMap(match =>
            metricsIn(match[1])
        );
        expect(used.length).toBeGreaterThanOrEqual(6);
        expect(used.filter(name => !names.has(name))).toEqual([]);
        const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map(match => match[1]);
        const table = tableUnder("## Alerts").map(row => row[0].replace(/`/g, ""));
        expect(table).toEqual(alerts);
        // The three: access check 5xx rate, rate-limit refusals, connection cap reached.
        expect(alerts).toEqual(
            expect.arrayContaining([
                "NotifyListenAccessCheckFailing",
                "NotifyListenNotifyRateLimited",
                "NotifyListenConnectionsRefused"
            ])
        );
    });

    it.skipIf(PROMTOOL === undefined)("alert rules pass promtool check rules", () => {
        const { status, output } = promtool(["rules", ALERTS_FILE]);
        expect(output).toContain("SUCCESS: 6 rules found");
        expect(status).toBe(0);
    });
});
