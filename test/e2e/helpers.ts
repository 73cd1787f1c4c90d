/**
 * Browser end-to-end harness: real Chromium (Debian package) driven by playwright-core, a real server
 * from `createApp` with the playground mounted, the BUILT widget, and the fake Mendix runtime.
 */
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createApp, type RunningApp } from "../../server/app";
import { loadConfig } from "../../server/config";
import { createPlayground } from "../../playground/playground";
import { type FakeMendix, createFakeMendix } from "../../playground/runtime";
import { findWidgetBuild } from "../../playground/widget-build";
import { CHROMIUM_ARGS, findChromium } from "./chromium";

export { CHROMIUM_ARGS, findChromium };

/** Fixed credentials, so a restarted server accepts the same browsers. */
export const NOTIFY_API_KEY = "e2e-notify-api-key-0123456789abcdef0123456789";
export const BROKER = { appId: "424242", key: "e2ebrokerkey0123456789", secret: "e2e-broker-secret-0123456789" };

export const OBJECT_1 = { entity: "Sales.Order", guid: "281474976710657" };
export const OBJECT_2 = { entity: "Sales.Order", guid: "281474976710658" };

/**
 * The Chromium to test with. Without one: on CI (`CI=true`) this THROWS, so the suite fails; locally it
 * prints a loud warning and returns undefined, and the suite is skipped with `describe.skipIf`.
 */
export function chromiumForTests(): string | undefined {
    const path = findChromium();
    if (path) {
        return path;
    }
    const message =
        "No Chromium found ($CHROMIUM_PATH, else /usr/bin/chromium and chromium on PATH): the browser end-to-end " +
        "tests need it. Install it with `apt-get install -y chromium` or set CHROMIUM_PATH.";
    if (process.env.CI === "true" || process.env.CI === "1") {
        throw new Error(`${message} CI=true, so this is a failure, not a skip.`);
    }
    const bar = "!".repeat(100);
    console.warn(`\n${bar}\n!!! SKIPPING BROWSER END-TO-END TESTS: ${message}\n${bar}\n`);
    return undefined;
}

/** Fails with a clear message when the widget has not been built (the tests use the shipped module). */
export function requireWidgetBuild(): void {
    if (!findWidgetBuild()) {
        throw new Error(
            "The built Listen widget is missing (dist/tmp/widgets/notifylisten/listen/Listen.mjs or dist/*/notifylisten.Listen.mpk). Run `npm run build` first."
        );
    }
}

export async function launchBrowser(executablePath: string): Promise<Browser> {
    return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

export interface TestServer {
    app: RunningApp;
    url: string;
    port: number;
    mendix: FakeMendix;
    close(): Promise<void>;
}

/**
 * Starts the real server with the playground on 127.0.0.1 (port 0 = ephemeral, or a given port for a
 * restart). Pass the previous server's fake Mendix runtime to keep the browsers' sessions. `env` adds to
 * (or overrides) the server's environment, e.g. other `BROKER_*` credentials; `actions` are the action names
 * of the widget's action list (default: the playground's).
 */
export async function startServer(
    options: { port?: number; mendix?: FakeMendix; env?: Record<string, string>; actions?: string[] } = {}
): Promise<TestServer> {
    const mendix = options.mendix ?? createFakeMendix();
    const config = loadConfig({
        LOG_LEVEL: "silent",
        NOTIFY_API_KEY,
        BROKER_APP_ID: BROKER.appId,
        BROKER_KEY: BROKER.key,
        BROKER_SECRET: BROKER.secret,
        PLAYGROUND: "true",
        ...options.env
    });
    const app = await createApp(config, { extend: createPlayground({ mendix, actions: options.actions }) });
    const url = await app.listen(options.port ?? 0, "127.0.0.1");
    return { app, url, port: Number(new URL(url).port), mendix, close: () => app.close() };
}

export type NotifyBody = (
    { topic: string } | { entity: string; guid: string } | { user: string } | { broadcast: string }
) & {
    action: string;
    sender?: string;
    changedDate?: string;
    data?: string;
};

/** What a microflow's Call REST does: POST /rest/pusher/notify with the Bearer key. Expects 200. */
export async function notify(server: TestServer, body: NotifyBody): Promise<{ triggered: number; channels: string[] }> {
    const response = await fetch(`${server.url}/rest/pusher/notify`, {
        method: "POST",
        headers: { Authorization: `Bearer ${NOTIFY_API_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(body)
    });
    const text = await response.text();
    if (response.status !== 200) {
        throw new Error(`notify answered ${response.status}: ${text}`);
    }
    return JSON.parse(text) as { triggered: number; channels: string[] };
}

export interface OpenedPage {
    context: BrowserContext;
    page: Page;
    /** WebSocket URLs the page opened, in order. */
    websockets: string[];
    /** Uncaught page errors (a healthy page has none). */
    pageErrors: string[];
}

/**
 * Opens the playground in a fresh browser context (own cookies = own Mendix session). `prepare` runs on the
 * page before it loads, e.g. to change what the server sends with `page.route`.
 */
export async function openPlayground(
    browser: Browser,
    server: TestServer,
    query: Record<string, string | number> = {},
    prepare?: (page: Page) => Promise<void>
): Promise<OpenedPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await prepare?.(page);
    const websockets: string[] = [];
    const pageErrors: string[] = [];
    page.on("websocket", socket => websockets.push(socket.url()));
    page.on("pageerror", error => pageErrors.push(error.message));
    const search = new URLSearchParams(Object.entries(query).map(([key, value]) => [key, String(value)]));
    await page.goto(`${server.url}/${search.size ? `?${search}` : ""}`);
    return { context, page, websockets, pageErrors };
}

export interface WidgetState {
    widget: string;
    state: string;
    channel: string;
    error: string;
}

/** Each Listen widget's state as the page shows it (read from the widget's own status element). */
export async function widgetStates(page: Page): Promise<WidgetState[]> {
    return page.$$eval(".widget-slot", slots =>
        slots.map(slot => {
            const status = slot.querySelector<HTMLElement>(".widget-host [data-listen-state]");
            const error = slot.querySelector<HTMLElement>(".widget-host .widget-listen-error");
            return {
                widget: (slot as HTMLElement).dataset.widget ?? "",
                state: status?.dataset.listenState ?? "",
                channel: status?.dataset.listenChannel ?? "",
                error: error?.textContent?.trim() ?? ""
            };
        })
    );
}

/** Waits until `count` widgets are on the page and all are in `state` (e.g. "listening"). */
export async function waitForWidgets(page: Page, state: string, count = 1, timeout = 10_000): Promise<WidgetState[]> {
    try {
        await page.waitForFunction(
            ({ state, count }) => {
                const elements = document.querySelectorAll<HTMLElement>(".widget-host [data-listen-state]");
                return (
                    elements.length === count && [...elements].every(element => element.dataset.listenState === state)
                );
            },
            { state, count },
            { timeout, polling: 50 }
        );
    } catch (error) {
        throw new Error(
            `Widgets did not reach "${state}" within ${timeout} ms; they show ${JSON.stringify(await widgetStates(page))}: ${String(error)}`
        );
    }
    return widgetStates(page);
}

export interface ActionRun {
    widget: string;
    action: string;
    object: string;
    sender: string;
    changedDate: string;
    data: string;
    status: string;
}

/** Entries of the page's action log, oldest first. `kind` "run" = executed, "ignored" = execute() while executing. */
export async function actionLog(page: Page, kind: "run" | "ignored" = "run"): Promise<ActionRun[]> {
    const runs = await page.$$eval(`[data-testid=action-${kind}]`, items =>
        items.map(item => {
            const data = (item as HTMLElement).dataset;
            return {
                widget: data.widget ?? "",
                action: data.action ?? "",
                object: data.object ?? "",
                sender: data.sender ?? "",
                changedDate: data.changedDate ?? "",
                data: data.data ?? "",
                status: data.status ?? ""
            };
        })
    );
    return runs.reverse();
}

/** Waits until the action log holds at least `count` runs; returns them. */
export async function waitForRuns(page: Page, count: number, timeout = 2_000): Promise<ActionRun[]> {
    try {
        await page.waitForFunction(
            count => document.querySelectorAll("[data-testid=action-run]").length >= count,
            count,
            { timeout, polling: 25 }
        );
    } catch (error) {
        throw new Error(
            `Expected ${count} action run(s) within ${timeout} ms, the log shows ${JSON.stringify(await actionLog(page))}: ${String(error)}`
        );
    }
    return actionLog(page);
}

/** The other viewers each data-view widget lists (Show who else is viewing), per widget. */
export async function viewersShown(page: Page): Promise<string[][]> {
    return page.$$eval(".widget-slot .widget-host", hosts =>
        hosts.map(host =>
            [...host.querySelectorAll(".widget-listen-viewers .widget-listen-viewer")].map(
                item => item.textContent ?? ""
            )
        )
    );
}

/** The runs of On viewers changed the page logged, oldest first: [widget, count, names]. */
export async function viewersEvents(page: Page): Promise<Array<[string, string, string]>> {
    const events = await page.$$eval("[data-testid=viewers-event]", items =>
        items.map(item => {
            const data = (item as HTMLElement).dataset;
            return [data.widget ?? "", data.count ?? "", data.names ?? ""] as [string, string, string];
        })
    );
    return events.reverse();
}

/** Bounded pause (to prove that something does NOT happen). */
export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

/** Polls `condition` every 25 ms until it holds; throws after `timeout` ms naming `what`. */
export async function waitUntil(condition: () => boolean, timeout: number, what: string): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`Timed out after ${timeout} ms waiting for ${what}.`);
        }
        await sleep(25);
    }
}

export interface BrowserSuite {
    /** Starts a server (see `startServer`); closed after the test. */
    start(options?: Parameters<typeof startServer>[0]): Promise<TestServer>;
    /** Opens the playground in a fresh context of the suite's browser; closed after the test. */
    open(
        server: TestServer,
        query?: Record<string, string | number>,
        prepare?: (page: Page) => Promise<void>
    ): Promise<OpenedPage>;
}

/**
 * Registers what every browser suite needs (call it inside `describe`): one Chromium for the suite, and the
 * pages and servers a test opened closed after it.
 */
export function browserSuite(executablePath: string | undefined): BrowserSuite {
    let browser: Browser | undefined;
    const servers: TestServer[] = [];
    const opened: OpenedPage[] = [];
    beforeAll(async () => {
        requireWidgetBuild();
        browser = await launchBrowser(executablePath!);
    });
    afterEach(async () => {
        await Promise.all(opened.splice(0).map(entry => entry.context.close()));
        await Promise.all(servers.splice(0).map(server => server.close()));
    });
    afterAll(async () => {
        await browser?.close();
    });
    return {
        async start(options) {
            const server = await startServer(options);
            servers.push(server);
            return server;
        },
        async open(server, query, prepare) {
            const page = await openPlayground(browser!, server, query, prepare);
            opened.push(page);
            return page;
        }
    };
}
