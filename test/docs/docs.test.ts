/**
 * Keeps the Mendix setup guide (docs/) honest about the code: every endpoint it names exists in the
 * server's OpenAPI document (with the method it names), every environment variable it names is one the
 * server reads (and the documented defaults are the real ones), every error code and status it lists is
 * the server's, every widget message it quotes is in the widget source, every widget property it names
 * is a caption in Listen.xml, and every link between the pages resolves.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, MIN_API_KEY_LENGTH, type Config } from "../../server/config";
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from "../../server/errors";
import { ACCESS_CHECK_PATH } from "../../server/mendix/access";
import { createMetrics } from "../../server/metrics";
import { createOpenApiDocument } from "../../server/openapi";
import { MAX_DATA_LENGTH, MAX_PAYLOAD_BYTES, MAX_TOPIC_LENGTH } from "../../protocol";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DOCS_DIR = path.join(ROOT, "docs");

interface Doc {
    /** Path relative to docs/, with forward slashes. */
    name: string;
    text: string;
    /** The text with fenced code blocks blanked out (line count kept). */
    prose: string;
    /** Fenced code blocks with their info string. */
    code: Array<{ lang: string; body: string }>;
}

function listMarkdown(dir: string): string[] {
    return readdirSync(dir).flatMap(entry => {
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) {
            return listMarkdown(full);
        }
        return entry.endsWith(".md") ? [full] : [];
    });
}

function readDoc(file: string): Doc {
    const text = readFileSync(file, "utf8");
    const code: Doc["code"] = [];
    const proseLines: string[] = [];
    let fence: { marker: string; lang: string; lines: string[] } | undefined;
    for (const line of text.split("\n")) {
        // Fenced blocks may sit in a block quote: "> ```bash".
        const unquoted = line.replace(/^\s*(?:>\s?)+/, "");
        const opening = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(unquoted);
        if (fence === undefined && opening) {
            fence = { marker: opening[1], lang: opening[2].toLowerCase(), lines: [] };
            proseLines.push("");
        } else if (fence !== undefined && unquoted.trim().startsWith(fence.marker)) {
            code.push({ lang: fence.lang, body: fence.lines.join("\n") });
            fence = undefined;
            proseLines.push("");
        } else if (fence !== undefined) {
            fence.lines.push(unquoted);
            proseLines.push("");
        } else {
            proseLines.push(line);
        }
    }
    return { name: path.relative(DOCS_DIR, file).split(path.sep).join("/"), text, prose: proseLines.join("\n"), code };
}

const DOCS: Doc[] = listMarkdown(DOCS_DIR).map(readDoc);
const doc = (name: string): Doc => {
    const found = DOCS.find(entry => entry.name === name);
    if (found === undefined) {
        throw new Error(`docs/${name} is missing`);
    }
    return found;
};

/** Inline code spans of a text (outside fenced blocks). */
function codeSpans(prose: string): string[] {
    return [...prose.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g)].map(match => match[2].trim());
}

interface Table {
    header: string[];
    rows: string[][];
}

function splitRow(line: string): string[] {
    const cells: string[] = [];
    let current = "";
    let inCode = false;
    const body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
    for (let i = 0; i < body.length; i++) {
        const char = body[i];
        if (char === "`") {
            inCode = !inCode;
        }
        if (char === "\\" && body[i + 1] === "|") {
            current += "|";
            i++;
            continue;
        }
        if (char === "|" && !inCode) {
            cells.push(current.trim());
            current = "";
            continue;
        }
        current += char;
    }
    cells.push(current.trim());
    return cells;
}

/** Markdown tables of a text, each with the section heading it is under. */
function tables(prose: string): Array<Table & { section: string }> {
    const found: Array<Table & { section: string }> = [];
    const lines = prose.split("\n");
    let section = "";
    for (let i = 0; i < lines.length; i++) {
        const heading = /^(#{1,6})\s+(.*)$/.exec(lines[i]);
        if (heading) {
            section = heading[2].trim();
            continue;
        }
        if (lines[i].trim().startsWith("|") && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? "")) {
            const header = splitRow(lines[i]);
            const rows: string[][] = [];
            let j = i + 2;
            while (j < lines.length && lines[j].trim().startsWith("|")) {
                rows.push(splitRow(lines[j]));
                j++;
            }
            found.push({ header, rows, section });
            i = j - 1;
        }
    }
    return found;
}

const column = (table: Table, name: RegExp): number => table.header.findIndex(cell => name.test(cell));

/** GitHub's heading anchors (github-slugger), with -1, -2 for repeats. */
function headingSlugs(prose: string): Set<string> {
    const slugs = new Set<string>();
    const seen = new Map<string, number>();
    for (const match of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
        const text = match[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/`/g, "");
        const base = text
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
            .replace(/ /g, "-");
        const count = seen.get(base) ?? 0;
        seen.set(base, count + 1);
        slugs.add(count === 0 ? base : `${base}-${count}`);
    }
    return slugs;
}

// ---------------------------------------------------------------------------------------------------
// Endpoints

const openApi = createOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
const API_PATHS = Object.keys(openApi.paths);

/**
 * Locations of Mendix published REST services that the guide names (they live in the Mendix app, not in
 * the companion server): the access check the server calls, the default location Studio Pro proposes for
 * the `pusher` service (which the guide tells you to change), and the access service's location.
 */
const MENDIX_APP_PATHS = new Set([ACCESS_CHECK_PATH, "/rest/notifylisten/v1", "/rest/pusher/v1"]);

interface PathMention {
    doc: string;
    path: string;
    /** True for `/rest/pusher/*`, `/rest/pusher/` and `/rest/pusher`: any path below it. */
    prefix: boolean;
    method?: string;
}

function pathMentions(entry: Doc): PathMention[] {
    const mentions: PathMention[] = [];
    const pattern =
        /(?:\b(GET|POST|PUT|PATCH|DELETE)\s+(?:`)?(?:<[^>\s]+>|\{1\}|@NotifyListen\.ServerUrl)?)?(?<![\w.-])\/?(rest\/[A-Za-z0-9_./*{}-]*|healthz\b|readyz\b|openapi\.json)/g;
    for (const match of entry.text.matchAll(pattern)) {
        let found = "/" + match[2].replace(/[.,]+$/, "");
        const prefix = found.endsWith("/*") || found.endsWith("/") || found === "/rest/pusher";
        found = found.replace(/\/\*$/, "").replace(/\/$/, "");
        mentions.push({ doc: entry.name, path: found, prefix, method: match[1]?.toLowerCase() });
    }
    return mentions;
}

describe("docs: endpoints", () => {
    const mentions = DOCS.flatMap(pathMentions);

    it("finds the pages and the endpoints they name", () => {
        for (const name of ["README.md", "install.md", "notify.md", "access-check.md", "topologies.md", "openapi.md"]) {
            expect(doc(name).text.length, name).toBeGreaterThan(500);
        }
        expect(mentions.length).toBeGreaterThan(20);
        expect(API_PATHS).toContain("/rest/pusher/notify");
    });

    it("names only paths that exist in the server's OpenAPI document (or the Mendix app's own locations)", () => {
        const unknown = mentions.filter(mention => {
            if (MENDIX_APP_PATHS.has(mention.path)) {
                return false;
            }
            return mention.prefix
                ? !API_PATHS.some(known => known === mention.path || known.startsWith(`${mention.path}/`))
                : !API_PATHS.includes(mention.path);
        });
        expect(unknown.map(mention => `${mention.doc}: ${mention.path}`)).toEqual([]);
    });

    it("names each endpoint with a method the server answers", () => {
        const wrong = mentions.filter(mention => {
            if (mention.method === undefined || mention.prefix) {
                return false;
            }
            if (mention.path === ACCESS_CHECK_PATH) {
                return mention.method !== "post";
            }
            const operations = openApi.paths[mention.path];
            return operations === undefined || !Object.keys(operations).includes(mention.method);
        });
        expect(wrong.map(mention => `${mention.doc}: ${mention.method?.toUpperCase()} ${mention.path}`)).toEqual([]);
    });

    it("documents every endpoint of the server", () => {
        const named = new Set(mentions.map(mention => mention.path));
        expect(API_PATHS.filter(known => !named.has(known))).toEqual([]);
    });

    it("names the OpenAPI requests by their operationId", () => {
        const named = [...doc("openapi.md").text.matchAll(/`(\w+)`\s+\(`(GET|POST) (\/[^`]+)`\)/g)];
        expect(named.length).toBeGreaterThanOrEqual(2);
        for (const [, operationId, method, apiPath] of named) {
            const operation = openApi.paths[apiPath]?.[method.toLowerCase()] as { operationId?: string } | undefined;
            expect(operation?.operationId, `${method} ${apiPath}`).toBe(operationId);
        }
    });

    it("names the access check path the server calls", () => {
        expect(mentions.some(mention => mention.path === ACCESS_CHECK_PATH)).toBe(true);
        expect(doc("access-check.md").text).toContain("rest/notifylisten/v1/access");
    });
});

// ---------------------------------------------------------------------------------------------------
// Environment variables

/** The variables the server reads: the keys of the zod schema in server/config.ts. */
function serverVariables(): string[] {
    const source = readFileSync(path.join(ROOT, "server/config.ts"), "utf8");
    const start = source.indexOf("const envSchema = z.object({");
    expect(start, "server/config.ts declares `const envSchema = z.object({`").toBeGreaterThanOrEqual(0);
    const end = source.indexOf("\n});", start);
    const block = source.slice(start, end);
    return [...block.matchAll(/^\s{4}([A-Z][A-Z0-9_]*):/gm)].map(match => match[1]);
}

const ENV_NAME = /^([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?=$|[=:])/;
const SERVER_VARIABLES = serverVariables();

function documentedVariables(): Array<{ doc: string; name: string }> {
    const found: Array<{ doc: string; name: string }> = [];
    // architecture.md is for engineers and names code constants (MAX_PAYLOAD_BYTES, ERROR_STATUS) in backticks.
    for (const entry of DOCS.filter(doc => doc.name !== "architecture.md")) {
        for (const span of codeSpans(entry.prose)) {
            const match = ENV_NAME.exec(span) ?? /^([A-Z][A-Z0-9_]*)=/.exec(span);
            if (match) {
                found.push({ doc: entry.name, name: match[1] });
            }
        }
        for (const block of entry.code) {
            if (!["bash", "sh", "shell", "console", ""].includes(block.lang)) {
                continue;
            }
            for (const match of block.body.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]*)=/g)) {
                found.push({ doc: entry.name, name: match[1] });
            }
        }
    }
    return found;
}

/** install.md's table of variables: names (a row may name several) and the default cell. */
function variableTable(): Array<{ names: string[]; defaultCell: string }> {
    const table = tables(doc("install.md").prose).find(
        candidate => column(candidate, /^Variable$/) === 0 && column(candidate, /^Default$/) === 1
    );
    expect(table, "install.md has a table with the columns Variable | Default | Meaning").toBeDefined();
    return table!.rows.map(row => ({
        names: codeSpans(row[0]).filter(span => /^[A-Z][A-Z0-9_]*$/.test(span)),
        defaultCell: row[1]
    }));
}

describe("docs: environment variables", () => {
    it("reads the variable list from server/config.ts", () => {
        expect(SERVER_VARIABLES).toEqual(expect.arrayContaining(["PORT", "NOTIFY_API_KEY", "MENDIX_APP_URL"]));
        expect(SERVER_VARIABLES.length).toBeGreaterThan(20);
    });

    it("names only variables the server reads", () => {
        const variables = documentedVariables();
        expect(variables.length).toBeGreaterThan(30);
        const unknown = variables.filter(variable => !SERVER_VARIABLES.includes(variable.name));
        expect(unknown.map(variable => `${variable.doc}: ${variable.name}`)).toEqual([]);
    });

    it("lists every variable the server reads in the install table", () => {
        const listed = variableTable().flatMap(row => row.names);
        expect(SERVER_VARIABLES.filter(name => !listed.includes(name))).toEqual([]);
        expect(listed.filter(name => !SERVER_VARIABLES.includes(name))).toEqual([]);
    });

    it("gives the real defaults", () => {
        const config = loadConfig({});
        const field: Record<string, (value: Config) => unknown> = {
            PORT: value => value.port,
            HOST: value => value.host,
            LOG_LEVEL: value => value.logLevel,
            MENDIX_TIMEOUT_MS: value => value.mendixTimeoutMs,
            TRUST_PROXY: value => value.trustProxy,
            RATE_LIMIT_AUTH: value => value.rateLimitAuth,
            RATE_LIMIT_NOTIFY: value => value.rateLimitNotify,
            BODY_LIMIT_BYTES: value => value.bodyLimitBytes
        };
        const checked: string[] = [];
        for (const row of variableTable()) {
            if (row.names.length !== 1 || field[row.names[0]] === undefined) {
                continue;
            }
            const name = row.names[0];
            const documented = codeSpans(row.defaultCell)[0];
            expect(documented, `default of ${name}`).toBe(String(field[name](config)));
            checked.push(name);
        }
        expect(checked.sort()).toEqual(Object.keys(field).sort());
    });

    it("states the production rules and limits the server enforces", () => {
        const install = doc("install.md").text;
        expect(install).toContain(`At least ${MIN_API_KEY_LENGTH} characters`);
        expect(() => loadConfig({ NOTIFY_API_KEY: "x".repeat(MIN_API_KEY_LENGTH - 1) })).toThrow(ConfigError);

        let production: unknown;
        try {
            loadConfig({ NODE_ENV: "production" });
        } catch (error) {
            production = error;
        }
        expect(production).toBeInstanceOf(ConfigError);
        expect((production as ConfigError).variables).toEqual(
            expect.arrayContaining(["NOTIFY_API_KEY", "MENDIX_APP_URL"])
        );
        expect(
            loadConfig({ NODE_ENV: "production", NOTIFY_API_KEY: "k".repeat(32), MENDIX_APP_URL: "http://a:8080" })
                .playground
        ).toBe(false);

        let halfPusher: unknown;
        try {
            loadConfig({ PUSHER_APP_ID: "1", PUSHER_KEY: "key" });
        } catch (error) {
            halfPusher = error;
        }
        expect((halfPusher as ConfigError).variables).toEqual(["PUSHER_SECRET"]);

        const guide = DOCS.map(entry => entry.text).join("\n");
        expect(guide).toContain(`at most ${MAX_DATA_LENGTH} characters`);
        expect(guide).toContain(`At most ${MAX_TOPIC_LENGTH} characters`);
        expect(MAX_PAYLOAD_BYTES).toBe(10_240);
        expect(guide).toContain("10 KB");
    });
});

// ---------------------------------------------------------------------------------------------------
// Error codes

/** Metric names and label values the server exports (a Redis adapter's gauge included). */
async function metricVocabulary(): Promise<Set<string>> {
    const metrics = createMetrics({ broker: "embedded" });
    metrics.redisAdapter(false);
    const text = await metrics.text();
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map(match => match[1]);
    const values = [...text.matchAll(/[a-z_]+="([^"]*)"/g)].map(match => match[1]);
    return new Set([...names, ...values]);
}

/** snake_case words in code spans that are not error codes. */
const OTHER_SNAKE_WORDS = new Set([
    "socket_id",
    "channel_name",
    "channel_data",
    "user_id",
    "user_info",
    "member_added",
    "member_removed",
    "proxy_read_timeout",
    "basic_auth"
]);

describe("docs: error codes", () => {
    // Metric names and label values (docs/observability.md) are the server's too: the ones its registry exports.
    let metricWords = new Set<string>();
    beforeAll(async () => {
        metricWords = await metricVocabulary();
    });

    it("names only error codes (or metric names and label values) the server uses", () => {
        const unknown: string[] = [];
        for (const entry of DOCS) {
            for (const span of codeSpans(entry.prose)) {
                if (
                    /^[a-z]+(?:_[a-z]+)+$/.test(span) &&
                    !OTHER_SNAKE_WORDS.has(span) &&
                    !metricWords.has(span) &&
                    !ERROR_CODES.includes(span as ErrorCode)
                ) {
                    unknown.push(`${entry.name}: ${span}`);
                }
            }
            for (const match of entry.text.matchAll(/"code"\s*:\s*"([a-z_]+)"/g)) {
                if (!ERROR_CODES.includes(match[1] as ErrorCode)) {
                    unknown.push(`${entry.name}: "code":"${match[1]}"`);
                }
            }
        }
        expect(unknown).toEqual([]);
    });

    it("lists every error code of the server, with its status, in the troubleshooting table", () => {
        const table = tables(doc("troubleshooting.md").prose).find(
            candidate => candidate.section === "Error codes of the server"
        );
        expect(table, "troubleshooting.md has a section 'Error codes of the server' with a table").toBeDefined();
        const codeColumn = column(table!, /^Code$/);
        const statusColumn = column(table!, /^Status$/);
        const listed = table!.rows.map(row => ({
            code: codeSpans(row[codeColumn])[0],
            status: Number(row[statusColumn])
        }));
        expect(listed.map(entry => entry.code).sort()).toEqual([...ERROR_CODES].sort());
        for (const entry of listed) {
            expect(entry.status, entry.code).toBe(ERROR_STATUS[entry.code as ErrorCode]);
        }
    });

    it("gives each code the server's status wherever a table has a Status column", () => {
        const wrong: string[] = [];
        let checked = 0;
        for (const entry of DOCS) {
            for (const table of tables(entry.prose)) {
                const statusColumn = column(table, /^Status$/i);
                if (statusColumn < 0) {
                    continue;
                }
                for (const row of table.rows) {
                    const statuses = [...(row[statusColumn] ?? "").matchAll(/\b(\d{3})\b/g)].map(match =>
                        Number(match[1])
                    );
                    const codes = row
                        .flatMap(cell => codeSpans(cell))
                        .filter((span): span is ErrorCode => ERROR_CODES.includes(span as ErrorCode));
                    for (const code of codes) {
                        checked++;
                        if (!statuses.includes(ERROR_STATUS[code])) {
                            wrong.push(`${entry.name}: ${code} is ${ERROR_STATUS[code]}, not ${statuses.join("/")}`);
                        }
                    }
                }
            }
        }
        expect(checked).toBeGreaterThan(ERROR_CODES.length);
        expect(wrong).toEqual([]);
    });
});

// ---------------------------------------------------------------------------------------------------
// The widget: messages and property captions

/** The widget's own sources and the wire rules it bundles from protocol/. */
function widgetSources(): string[] {
    return [...sourcesIn(path.join(ROOT, "src")), ...sourcesIn(path.join(ROOT, "protocol"))];
}

function sourcesIn(dir: string): string[] {
    return readdirSync(dir).flatMap(entry => {
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) {
            return entry === "__tests__" ? [] : sourcesIn(full);
        }
        return /\.(ts|tsx)$/.test(entry) ? [readFileSync(full, "utf8")] : [];
    });
}

describe("docs: the widget", () => {
    it("quotes only messages that the widget source contains", () => {
        const source = widgetSources().join("\n");
        const troubleshooting = tables(doc("troubleshooting.md").prose).filter(
            table => column(table, /^Message$/) === 0
        );
        expect(troubleshooting.length).toBeGreaterThanOrEqual(2);
        const missing: string[] = [];
        let fragments = 0;
        for (const table of troubleshooting) {
            for (const row of table.rows) {
                for (const quoted of codeSpans(row[0])) {
                    for (const fragment of quoted.split("…").map(part => part.trim())) {
                        if (fragment.length < 4) {
                            continue;
                        }
                        fragments++;
                        if (!source.includes(fragment)) {
                            missing.push(fragment);
                        }
                    }
                }
            }
        }
        expect(fragments).toBeGreaterThan(20);
        expect(missing).toEqual([]);
    });

    it("names the widget's properties by their captions in Listen.xml", () => {
        const xml = readFileSync(path.join(ROOT, "src/Listen.xml"), "utf8");
        const captions = new Set([
            ...[...xml.matchAll(/<caption>([^<]+)<\/caption>/g)].map(match => match[1].replace(/&amp;/g, "&")),
            ...[...xml.matchAll(/<actionVariable\b[^>]*\bcaption="([^"]+)"/g)].map(match => match[1])
        ]);
        const groups = new Set([...xml.matchAll(/<propertyGroup caption="([^"]+)"/g)].map(match => match[1]));
        // The Visibility system property shows as "Visible" in Studio Pro.
        const system = new Set(["Visible"]);
        const unknown: string[] = [];
        let checked = 0;
        for (const table of tables(doc("widget.md").prose)) {
            const propertyColumn = column(table, /^(Property|Variable)$/);
            const groupColumn = column(table, /^Group$/);
            if (propertyColumn < 0) {
                continue;
            }
            for (const row of table.rows) {
                const name = /^[*_](.+)[*_]$/.exec(row[propertyColumn] ?? "")?.[1];
                if (name !== undefined) {
                    checked++;
                    if (!captions.has(name) && !system.has(name)) {
                        unknown.push(name);
                    }
                }
                const group = groupColumn < 0 ? "" : row[groupColumn];
                if (group !== "" && !groups.has(group)) {
                    unknown.push(`group ${group}`);
                }
            }
        }
        expect(checked).toBeGreaterThanOrEqual(10);
        expect(unknown).toEqual([]);
    });

    it("names the widget package that the build produces", () => {
        const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
            version: string;
            packagePath: string;
            widgetName: string;
        };
        expect(doc("install.md").text).toContain(`dist/${pkg.version}/${pkg.packagePath}.${pkg.widgetName}.mpk`);
    });
});

// ---------------------------------------------------------------------------------------------------
// Links between the pages

describe("docs: links", () => {
    it("resolves every relative link and anchor", () => {
        const slugs = new Map(DOCS.map(entry => [entry.name, headingSlugs(entry.prose)]));
        const broken: string[] = [];
        let checked = 0;
        for (const entry of DOCS) {
            for (const match of entry.prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
                const target = match[1];
                if (/^[a-z]+:/i.test(target)) {
                    continue;
                }
                checked++;
                const [file, anchor] = target.split("#");
                const name =
                    file === ""
                        ? entry.name
                        : path.posix.normalize(path.posix.join(path.posix.dirname(entry.name), file));
                const known = slugs.get(name);
                if (known === undefined) {
                    const onDisk = path.join(DOCS_DIR, name);
                    // Pictures and the files operators import (a Grafana dashboard, alert rules) exist on disk.
                    const file = !name.endsWith(".md") && statSync(onDisk, { throwIfNoEntry: false })?.isFile();
                    if (!file) {
                        broken.push(`${entry.name}: ${target} (no such page)`);
                    }
                    continue;
                }
                if (anchor !== undefined && !known.has(anchor)) {
                    broken.push(`${entry.name}: ${target} (no such heading)`);
                }
            }
        }
        expect(checked).toBeGreaterThan(30);
        expect(broken).toEqual([]);
    });

    it("links every page from the index", () => {
        const index = doc("README.md").prose;
        const pages = DOCS.map(entry => entry.name).filter(name => name !== "README.md");
        expect(pages.filter(name => !index.includes(`(${name}`))).toEqual([]);
    });
});
