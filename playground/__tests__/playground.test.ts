/**
 * Playground smoke test without a browser: the page, its import map and vendor modules, the access
 * check through the real server's /rest/pusher/auth, the notify relay, and that nothing of it exists
 * when the playground is off (production).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, createApp } from "../../server/app";
import { loadConfig } from "../../server/config";
import type { PlaygroundBootstrap } from "../client/bootstrap";
import { createPlayground, mountPlayground } from "../playground";
import { ACCESS_CHECK_PATH, SESSION_COOKIE, createFakeMendix } from "../runtime";
import { providedSpecifiers } from "../vendor";

const API_KEY = "playground-test-api-key-0123456789abcdef";
const ORDER_1 = "281474976710657";

interface Page {
    status: number;
    html: string;
    cookie: string | undefined;
    setCookie: string | null;
    bootstrap: PlaygroundBootstrap;
    importMap: { imports: Record<string, string> };
    csrfToken: string;
}

function between(html: string, start: string, end: string): string {
    const from = html.indexOf(start);
    if (from < 0) {
        throw new Error(`${start} not found in the page`);
    }
    return html.slice(from + start.length, html.indexOf(end, from + start.length));
}

async function getPage(base: string, query = "", cookie?: string): Promise<Page> {
    const response = await fetch(`${base}/${query}`, { headers: cookie ? { Cookie: cookie } : {} });
    const html = await response.text();
    const setCookie = response.headers.get("set-cookie");
    const bootstrap = JSON.parse(
        between(html, '<script type="application/json" id="playground-data">', "</script>")
    ) as PlaygroundBootstrap;
    const fresh = setCookie?.match(new RegExp(`${SESSION_COOKIE}=([^;]*)`))?.[1];
    return {
        status: response.status,
        html,
        setCookie,
        cookie: fresh ? `${SESSION_COOKIE}=${fresh}` : cookie,
        bootstrap,
        importMap: JSON.parse(between(html, '<script type="importmap">', "</script>")) as {
            imports: Record<string, string>;
        },
        csrfToken: bootstrap.csrfToken
    };
}

async function auth(
    base: string,
    channel: string,
    headers: Record<string, string>
): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${base}/rest/pusher/auth`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams({ socket_id: "1234.5678", channel_name: channel }).toString()
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("playground (server on, no browser)", () => {
    let running: RunningApp;
    let base: string;
    const temp: string[] = [];

    beforeAll(async () => {
        const config = loadConfig({ LOG_LEVEL: "silent", NOTIFY_API_KEY: API_KEY });
        running = await createApp(config, { extend: createPlayground({ mendix: createFakeMendix() }) });
        base = await running.listen(0, "127.0.0.1");
    });

    afterAll(async () => {
        await running.close();
        for (const dir of temp) {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("GET / answers 200 HTML with the import map, signs john in, and never reveals the API key", async () => {
        const page = await getPage(base);
        expect(page.status).toBe(200);
        expect(page.html.startsWith("<!doctype html>")).toBe(true);
        expect(Object.keys(page.importMap.imports).sort()).toEqual(providedSpecifiers().sort());
        for (const specifier of ["react", "react/jsx-runtime", "react-dom", "react-dom/client", "big.js"]) {
            expect(page.importMap.imports[specifier]).toMatch(/^\/playground\/vendor\/.+\.js$/);
        }
        expect(page.importMap.imports["mendix/session"]).toBe("/playground/vendor/mendix-session.js");
        // The import map comes before any module script.
        expect(page.html.indexOf('type="importmap"')).toBeLessThan(page.html.indexOf('type="module"'));
        expect(page.setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+;.*HttpOnly`, "i"));
        expect(page.bootstrap.user?.name).toBe("john");
        expect(page.csrfToken).toMatch(/^[\w-]{20,}$/);
        expect(page.html).toContain(`window.mx = { session: session }`);
        expect(page.html).not.toContain(API_KEY);
        expect(page.bootstrap.objectGuid).toBe(ORDER_1);
        expect(page.bootstrap.widgets).toBe(1);

        // The same browser keeps its session on the next visit.
        const again = await getPage(base, "", page.cookie);
        expect(again.setCookie).toBeNull();
        expect(again.csrfToken).toBe(page.csrfToken);
    });

    it("query parameters pick the user, the object and the widget setup", async () => {
        const mary = await getPage(
            base,
            "?user=mary&object=281474976710658&widgets=3&ignoreOwn=1&slowMs=1000&delay=50&topic=key"
        );
        expect(mary.bootstrap).toMatchObject({
            user: { name: "mary" },
            objectGuid: "281474976710658",
            widgets: 3,
            ignoreOwn: true,
            slowMs: 1000,
            delay: 50,
            topicMode: "key"
        });
        const eve = await getPage(base, "?user=eve", mary.cookie);
        expect(eve.bootstrap.user?.name).toBe("eve");
        expect(eve.bootstrap.readable).toEqual([]);
        expect(eve.cookie).not.toBe(mary.cookie);
        const out = await getPage(base, "?user=anonymous", eve.cookie);
        expect(out.bootstrap.user).toBeNull();
        expect(out.csrfToken).toBe("");
        expect(out.setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=;`));
        const fallback = await getPage(base, "?user=mallory&object=nope&widgets=99");
        expect(fallback.bootstrap).toMatchObject({ user: { name: "john" }, objectGuid: ORDER_1, widgets: 6 });
    });

    it("the access check answers 200/401/403 per the contract, also through /rest/pusher/auth", async () => {
        const john = await getPage(base, "?user=john");
        const eve = await getPage(base, "?user=eve");
        const body = JSON.stringify({ channel: `private-Sales.Order.${ORDER_1}`, topic: `Sales.Order.${ORDER_1}` });
        const direct = async (headers: Record<string, string>): Promise<number> =>
            (
                await fetch(base + ACCESS_CHECK_PATH, {
                    method: "POST",
                    headers: { "Content-Type": "application/json", ...headers },
                    body
                })
            ).status;
        expect(await direct({ Cookie: john.cookie!, "X-Csrf-Token": john.csrfToken })).toBe(200);
        expect(await direct({ Cookie: john.cookie! })).toBe(401);
        expect(await direct({})).toBe(401);
        expect(await direct({ Cookie: eve.cookie!, "X-Csrf-Token": eve.csrfToken })).toBe(403);

        const channel = `private-Sales.Order.${ORDER_1}`;
        const signed = await auth(base, channel, { Cookie: john.cookie!, "X-Csrf-Token": john.csrfToken });
        expect(signed.status).toBe(200);
        expect(signed.body.auth).toMatch(/^[^:]+:[0-9a-f]{64}$/);
        const refused = await auth(base, channel, { Cookie: eve.cookie!, "X-Csrf-Token": eve.csrfToken });
        expect(refused).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
        const anonymous = await auth(base, channel, {});
        expect(anonymous).toMatchObject({ status: 401, body: { error: { code: "not_authenticated" } } });
        const viaKeyTopic = await auth(base, "private-Sales.Order.number.1001", {
            Cookie: john.cookie!,
            "X-Csrf-Token": john.csrfToken
        });
        expect(viaKeyTopic.status).toBe(200);
    });

    it("the vendor modules load and share one React", async () => {
        const page = await getPage(base);
        const dir = mkdtempSync(path.join(tmpdir(), "nl-vendor-"));
        temp.push(dir);
        writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }');
        const files = new Set([...Object.values(page.importMap.imports), "/playground/vendor/shared.js"]);
        for (const url of files) {
            const response = await fetch(base + url);
            expect(response.status, url).toBe(200);
            expect(response.headers.get("content-type"), url).toMatch(/^text\/javascript/);
            writeFileSync(path.join(dir, path.basename(url)), await response.text());
        }
        const load = (file: string): Promise<Record<string, unknown>> =>
            import(/* @vite-ignore */ pathToFileURL(path.join(dir, file)).href) as Promise<Record<string, unknown>>;
        const shared = await load("shared.js");
        const react = await load("react.js");
        const jsxRuntime = await load("react-jsx-runtime.js");
        const reactDom = await load("react-dom.js");
        const big = await load("big.js");
        expect(react.default).toBe(shared.react);
        expect(typeof react.useState).toBe("function");
        expect(typeof react.useSyncExternalStore).toBe("function");
        expect(reactDom.version).toBe(react.version);
        const element = (jsxRuntime.jsx as (type: string, props: object) => { type: string; $$typeof: symbol })(
            "div",
            {}
        );
        expect(element.type).toBe("div");
        expect(react.isValidElement as (value: unknown) => boolean).toBeTypeOf("function");
        expect((react.isValidElement as (value: unknown) => boolean)(element)).toBe(true);
        const Big = big.default as new (value: string) => { plus(other: string): { toString(): string } };
        expect(new Big("0.1").plus("0.2").toString()).toBe("0.3");
        expect(big.Big).toBe(big.default);

        // mendix/session reads the session the page puts on window.mx.
        const session = await load("mendix-session.js");
        const global = globalThis as { window?: unknown };
        global.window = {
            mx: {
                session: {
                    sessionData: { csrftoken: "token-1" },
                    getUserName: () => "john",
                    getUserId: () => "1",
                    getUserRoleNames: () => ["User"],
                    isGuest: () => false
                }
            }
        };
        try {
            expect((session.getCSRFToken as () => string)()).toBe("token-1");
            expect((session.getUserName as () => string)()).toBe("john");
            expect((session.isGuest as () => boolean)()).toBe(false);
        } finally {
            delete global.window;
        }

        const app = await fetch(`${base}/playground/vendor/app.js`);
        expect(app.status).toBe(200);
        expect(await app.text()).toMatch(/from\s*"react-dom\/client"/);
        const missing = await fetch(`${base}/playground/vendor/nope.js`);
        expect(missing.status).toBe(404);
    });

    it("the Notify relay calls the notify API server-side with the key, like a microflow", async () => {
        const post = (body: unknown) =>
            fetch(`${base}/playground/notify`, {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify(body)
            });
        const one = await post({ guid: ORDER_1, action: "refresh", sender: "john", data: "hi" });
        expect(one.status).toBe(200);
        expect(await one.json()).toEqual({ triggered: 1, channels: [`private-Sales.Order.${ORDER_1}`] });
        const batch = await post({ guid: ORDER_1, action: "refresh", count: 3, topicMode: "key" });
        expect(batch.status).toBe(200);
        expect(await batch.json()).toMatchObject({ triggered: 3, channels: ["private-Sales.Order.number.1001"] });
        const bad = await post({ guid: "x", action: "" });
        expect(bad.status).toBe(400);
        const unknown = await post({ guid: "123", action: "refresh" });
        expect(unknown.status).toBe(400);
        // Spaces are allowed since action names follow Pusher's event-name rules; a reserved prefix is not.
        const invalidAction = await post({ guid: ORDER_1, action: "pusher:reserved" });
        expect(invalidAction.status).toBe(400);
        expect(await invalidAction.json()).toMatchObject({ error: { code: "invalid_request" } });
    });
});

describe("playground widget lookup", () => {
    const roots: string[] = [];
    let running: RunningApp | undefined;

    afterEach(async () => {
        await running?.close();
        running = undefined;
    });

    afterAll(() => {
        for (const root of roots) {
            rmSync(root, { recursive: true, force: true });
        }
    });

    async function start(root: string): Promise<string> {
        const config = loadConfig({ LOG_LEVEL: "silent", NOTIFY_API_KEY: API_KEY });
        running = await createApp(config, { extend: createPlayground({ root }) });
        return running.listen(0, "127.0.0.1");
    }

    it("explains to run npm run build when the widget is not built", async () => {
        const root = mkdtempSync(path.join(tmpdir(), "nl-empty-"));
        roots.push(root);
        const base = await start(root);
        const page = await getPage(base);
        expect(page.status).toBe(200);
        expect(page.bootstrap.widgetUrl).toBeNull();
        expect(page.bootstrap.widgetProblem).toContain("npm run build");
        const widget = await fetch(`${base}/playground/widget/Listen.mjs`);
        expect(widget.status).toBe(404);
    });

    it("serves the built module and flags bare imports the playground does not provide", async () => {
        const root = mkdtempSync(path.join(tmpdir(), "nl-built-"));
        roots.push(root);
        const dir = path.join(root, "dist/tmp/widgets/notifylisten/listen");
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, "Listen.mjs"), 'import { x } from "mendix/unknown";\nexport const Listen = x;\n');
        const base = await start(root);
        const page = await getPage(base);
        expect(page.bootstrap.widgetUrl).toBe("/playground/widget/Listen.mjs");
        expect(page.bootstrap.widgetProblem).toContain("mendix/unknown");
        const widget = await fetch(base + page.bootstrap.widgetUrl!);
        expect(widget.status).toBe(200);
        expect(widget.headers.get("content-type")).toMatch(/^text\/javascript/);
        expect(await widget.text()).toContain("export const Listen");
    });
});

describe("playground off", () => {
    it("is never mounted in production, nor with PLAYGROUND=false", async () => {
        const configs = [
            loadConfig({
                NODE_ENV: "production",
                LOG_LEVEL: "silent",
                NOTIFY_API_KEY: API_KEY,
                MENDIX_APP_URL: "http://127.0.0.1:9"
            }),
            loadConfig({ LOG_LEVEL: "silent", NOTIFY_API_KEY: API_KEY, PLAYGROUND: "false" })
        ];
        for (const config of configs) {
            expect(config.playground).toBe(false);
            const running = await createApp(config, { extend: mountPlayground });
            const base = await running.listen(0, "127.0.0.1");
            try {
                for (const [method, url] of [
                    ["GET", "/"],
                    ["GET", "/playground/vendor/react.js"],
                    ["GET", "/playground/vendor/app.js"],
                    ["GET", "/playground/playground.css"],
                    ["GET", "/playground/widget/Listen.mjs"],
                    ["POST", "/playground/notify"],
                    ["POST", ACCESS_CHECK_PATH]
                ]) {
                    const response = await fetch(base + url, {
                        method,
                        headers: { "Content-Type": "application/json" },
                        body: method === "POST" ? "{}" : undefined
                    });
                    expect(response.status, `${method} ${url}`).toBe(404);
                    expect(response.headers.get("set-cookie")).toBeNull();
                }
            } finally {
                await running.close();
            }
        }
    });

    it("is never mounted next to a real Mendix app, not even with PLAYGROUND=true", async () => {
        const config = loadConfig({
            LOG_LEVEL: "silent",
            NOTIFY_API_KEY: API_KEY,
            MENDIX_APP_URL: "http://127.0.0.1:9",
            PLAYGROUND: "true"
        });
        expect(config.playground).toBe(false);
        expect(config.warnings.join("\n")).toMatch(/PLAYGROUND is ignored/);
        // Even when handed a config that claims otherwise, the mount refuses to serve next to MENDIX_APP_URL.
        const running = await createApp(
            { ...config, playground: true },
            { extend: createPlayground({ mendix: createFakeMendix() }) }
        );
        const base = await running.listen(0, "127.0.0.1");
        try {
            expect((await fetch(`${base}/`)).status).toBe(404);
            const relay = await fetch(`${base}/playground/notify`, {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ guid: ORDER_1, action: "refresh" })
            });
            expect(relay.status).toBe(404);
            const response = await fetch(base + ACCESS_CHECK_PATH, {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ channel: `private-Sales.Order.${ORDER_1}`, topic: `Sales.Order.${ORDER_1}` })
            });
            expect(response.status).toBe(404);
        } finally {
            await running.close();
        }
    });
});
