/**
 * Helpers of the observability tests: the metrics token, scraping GET /metrics of a real server and reading it with
 * a strict reader of the Prometheus text format (every line must follow the exposition grammar, every sample must
 * belong to a family declared by `# TYPE`), and `promtool` (Prometheus' own parser and linter) when installed.
 * prom-client itself has no parser.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { expect } from "vitest";

export const METRICS_TOKEN = "test-metrics-token-0123456789abcdefghijkl";
export const METRICS_BEARER = { Authorization: `Bearer ${METRICS_TOKEN}` };

/** `Authorization: Basic` with any user name and `password` (the token), as a browser sends it. */
export function basic(password: string, user = "ops"): Record<string, string> {
    return { Authorization: `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}` };
}

export interface Sample {
    /** The sample's own name (`_bucket`, `_sum`, `_count` for histograms). */
    name: string;
    labels: Record<string, string>;
    value: number;
}

export interface Family {
    name: string;
    help: string;
    type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
    samples: Sample[];
}

export interface Scrape {
    text: string;
    families: Family[];
    family(name: string): Family | undefined;
    /**
     * Sum of the samples of `name` whose labels include `labels`; for a histogram the sum of their counts. 0 when the
     * family has no such sample; throws when the family does not exist at all.
     */
    value(name: string, labels?: Record<string, string>): number;
    /** The histogram samples of `name` with `labels`, merged: count, sum and cumulative buckets by `le`. */
    histogram(
        name: string,
        labels?: Record<string, string>
    ): { count: number; sum: number; buckets: Record<string, number> };
    /** Sample lines: the number of series. */
    readonly series: number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = "[a-zA-Z_][a-zA-Z0-9_]*";
const VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
// Go's ParseFloat rules: Inf and NaN in any case (prom-client writes "Nan").
const NUMBER = "[+-]?(?:[Ii][Nn][Ff]|[Nn][Aa][Nn]|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)";
const SAMPLE_LINE = new RegExp(
    `^(${NAME})(?:\\{((?:${LABEL}=${VALUE})(?:,${LABEL}=${VALUE})*,?)?\\})? (${NUMBER})(?: -?\\d+)?$`
);
const LABEL_PAIR = new RegExp(`(${LABEL})=(${VALUE})`, "g");
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function unescape(quoted: string): string {
    return quoted.slice(1, -1).replace(/\\(["\\n])/g, (_all, char: string) => (char === "n" ? "\n" : char));
}

/** Reads the text format strictly: throws on the first line that is not valid, naming it. */
export function parseScrape(text: string): Scrape {
    const families = new Map<string, Family>();
    const help = new Map<string, string>();
    let series = 0;
    for (const [index, line] of text.split("\n").entries()) {
        const where = `line ${index + 1}: ${line}`;
        if (line === "") {
            continue;
        }
        const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
        if (meta !== null) {
            const [, kind, name, rest] = meta;
            if (!new RegExp(`^${NAME}$`).test(name)) {
                throw new Error(`invalid metric name, ${where}`);
            }
            if (kind === "HELP") {
                help.set(name, rest);
            } else {
                if (!TYPES.has(rest) || families.has(name)) {
                    throw new Error(`invalid or repeated TYPE, ${where}`);
                }
                families.set(name, { name, help: help.get(name) ?? "", type: rest as Family["type"], samples: [] });
            }
            continue;
        }
        if (line.startsWith("#")) {
            continue;
        }
        const match = SAMPLE_LINE.exec(line);
        if (match === null) {
            throw new Error(`not a valid sample, ${where}`);
        }
        const [, name, labelText, valueText] = match;
        const labels: Record<string, string> = {};
        for (const pair of (labelText ?? "").matchAll(LABEL_PAIR)) {
            if (pair[1] in labels) {
                throw new Error(`repeated label ${pair[1]}, ${where}`);
            }
            labels[pair[1]] = unescape(pair[2]);
        }
        const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
        const family =
            families.get(name) ??
            (base !== undefined && ["histogram", "summary"].includes(families.get(base)?.type ?? "")
                ? families.get(base)
                : undefined);
        if (family === undefined) {
            throw new Error(`sample without a # TYPE of its family, ${where}`);
        }
        if (family.type === "histogram" && name.endsWith("_bucket") && labels.le === undefined) {
            throw new Error(`histogram bucket without le, ${where}`);
        }
        family.samples.push({ name, labels, value: Number(valueText.replace(/inf$/i, "Infinity")) });
        series++;
    }
    for (const family of families.values()) {
        family.help ||= help.get(family.name) ?? "";
    }
    const list = [...families.values()];
    const existing = (name: string): Family => {
        const found = families.get(name);
        if (found === undefined) {
            throw new Error(`no metric ${name} in /metrics`);
        }
        return found;
    };
    const matches = (sample: Sample, labels: Record<string, string>) =>
        Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted);
    return {
        text,
        families: list,
        family: name => families.get(name),
        value(name, labels = {}) {
            const family = existing(name);
            const wanted = family.type === "histogram" ? `${name}_count` : name;
            return family.samples
                .filter(sample => sample.name === wanted && matches(sample, labels))
                .reduce((sum, sample) => sum + sample.value, 0);
        },
        histogram(name, labels = {}) {
            const result = { count: 0, sum: 0, buckets: {} as Record<string, number> };
            for (const sample of existing(name).samples.filter(entry => matches(entry, labels))) {
                if (sample.name === `${name}_count`) {
                    result.count += sample.value;
                } else if (sample.name === `${name}_sum`) {
                    result.sum += sample.value;
                } else if (sample.name === `${name}_bucket`) {
                    result.buckets[sample.labels.le] = (result.buckets[sample.labels.le] ?? 0) + sample.value;
                }
            }
            return result;
        },
        series
    };
}

/** GET /metrics with the token; expects 200 and the Prometheus text content type. */
export async function scrape(url: string, headers: Record<string, string> = METRICS_BEARER): Promise<Scrape> {
    const response = await fetch(`${url}/metrics`, { headers });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    return parseScrape(text);
}

/** Path of Prometheus' `promtool`, or undefined when it is not installed (Debian: apt-get install prometheus). */
export function findPromtool(): string | undefined {
    try {
        return (
            execFileSync("which", ["promtool"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() ||
            undefined
        );
    } catch {
        return undefined;
    }
}

/**
 * The promtool to test with. Without one: under CI (`CI=true`) this THROWS, so the suite fails (.ci/run installs
 * Debian's `prometheus`); locally it warns loudly and returns undefined, and the promtool checks are skipped.
 */
export function promtoolForTests(): string | undefined {
    const found = findPromtool();
    if (found !== undefined) {
        return found;
    }
    const message =
        "No promtool found: the checks with Prometheus' own parser need it (apt-get install -y --no-install-recommends prometheus).";
    if (process.env.CI === "true" || process.env.CI === "1") {
        throw new Error(`${message} CI=true, so this is a failure, not a skip.`);
    }
    console.warn(`\n${"!".repeat(100)}\n!!! SKIPPING PROMTOOL CHECKS: ${message}\n${"!".repeat(100)}\n`);
    return undefined;
}

/** Runs `promtool check <what>` (stdin or a file); exit status and combined output. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
    const result = spawnSync(findPromtool() ?? "promtool", ["check", ...args], { input, encoding: "utf8" });
    return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Waits until `check` passes (a scrape reflects what a socket just did), polling every 20 ms. */
export async function eventually(check: () => Promise<void>, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            await check();
            return;
        } catch (error) {
            if (Date.now() > deadline) {
                throw error;
            }
            await new Promise(resolve => setTimeout(resolve, 20));
        }
    }
}
