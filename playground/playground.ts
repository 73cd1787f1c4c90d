/**
 * The playground shown by `npm start` outside production: a page that mounts the BUILT Listen widget
 * the way the Mendix client does, backed by the fake Mendix runtime (sessions, CSRF, object access).
 *
 * Wire it with `createApp(config, { extend: mountPlayground, accessCheckUrl: <this server> })`.
 * Nothing is mounted when `config.playground` is false: it is on only in local demo mode (not production,
 * MENDIX_APP_URL unset). Its notify relay uses the server's own API key, so it answers only requests made on
 * this machine (see `relayRefusal`), and the page carries a strict Content Security Policy.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import express, { type Request, type Response } from "express";
import { z } from "zod";
import { GUID_PATTERN, MAX_DATA_LENGTH } from "../protocol/index.js";
import { DEFAULT_USER } from "./data.js";
import { type PlaygroundBootstrap, QUERY, SIGNED_OUT } from "./client/bootstrap.js";
import { contentSecurityPolicy, renderPage } from "./page.js";
import { type FakeMendix, type FakeSession, createFakeMendix } from "./runtime.js";
import { type SessionSecret, loadSessionSecret } from "./secret.js";
import { REPO_ROOT } from "./root.js";
import { VENDOR_PREFIX, browserModules, importMap, providedSpecifiers } from "./vendor.js";
import { WIDGET_MODULE, bareImports, findWidgetBuild } from "./widget-build.js";

/** What the server passes to `extend` (structurally; see server/app.ts `AppOptions.extend`). */
export interface PlaygroundContext {
    config: {
        playground: boolean;
        mendixAppUrl?: string | null;
        /** WS_HOST / WS_PORT / WS_TLS: where the widget's WebSocket goes when not to this server. */
        ws?: { host?: string; port?: number; tls?: boolean };
        /** METRICS_TOKEN / METRICS_CONSOLE: whether the server serves the operator console at /console. */
        metrics?: { console: boolean };
    };
    notifyApiKey: string;
    logger: {
        info(object: object, message?: string): void;
        warn(object: object, message?: string): void;
        error(object: object, message?: string): void;
    };
}

export interface PlaygroundOptions {
    /**
     * The fake Mendix runtime; defaults to one runtime per process whose sessions are signed with the key kept in
     * `.playground/` (secret.ts), so they survive a restart of the server, in this process or the next.
     */
    mendix?: FakeMendix;
    /** Repository root holding `dist/` (default: this repository). */
    root?: string;
    /** Action names in the widget's action list. */
    actions?: string[];
}

export const PLAYGROUND_PREFIX = "/playground/";
export const WIDGET_PREFIX = "/playground/widget/";
export const NOTIFY_PATH = "/playground/notify";
export const DEFAULT_ACTIONS = ["refresh", "showMessage"];

const CSS_FILE = path.join(REPO_ROOT, "playground/playground.css");
const CONTENT_TYPES: Record<string, string> = {
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json; charset=utf-8"
};

let processRuntime: FakeMendix | undefined;
let processSessionSecret: SessionSecret | undefined;

/** The process-wide fake Mendix runtime used by `mountPlayground`, its sessions signed with the kept key. */
export function sharedFakeMendix(): FakeMendix {
    processSessionSecret ??= loadSessionSecret();
    processRuntime ??= createFakeMendix({ sessionSecret: processSessionSecret.secret });
    return processRuntime;
}

/**
 * What the playground's Notify form sends: one target (an object's `guid`, a Mendix `user` name, or a `broadcast`
 * name; the notify endpoint validates user and broadcast names itself) and the notification's fields.
 */
const notifySchema = z
    .object({
        guid: z.string().regex(GUID_PATTERN).optional(),
        user: z.string().min(1).max(1000).optional(),
        broadcast: z.string().min(1).max(1000).optional(),
        topicMode: z.enum(["default", "key"]).default("default"),
        action: z.string().min(1).max(200),
        data: z.string().max(MAX_DATA_LENGTH).optional(),
        sender: z.string().max(200).optional(),
        count: z.number().int().min(1).max(100).default(1)
    })
    .refine(input => [input.guid, input.user, input.broadcast].filter(target => target !== undefined).length === 1, {
        message: "send exactly one of guid, user or broadcast",
        path: ["guid"]
    });

function intParam(value: unknown, fallback: number, min: number, max: number): number {
    const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : fallback;
    return Math.min(max, Math.max(min, number));
}

function flagParam(value: unknown): boolean {
    return value === "1" || value === "true" || value === "yes";
}

/** Loopback addresses: 127.0.0.0/8, ::1 and their IPv4-mapped form. */
export function isLoopbackAddress(address: string | undefined): boolean {
    if (address === undefined) {
        return false;
    }
    const bare = address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
    return bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Host names that mean this machine (Host and Origin of a relay request must use one: no DNS rebinding). */
function isLoopbackHost(host: string): boolean {
    const name = host
        .replace(/:\d+$/, "")
        .replace(/^\[(.*)\]$/, "$1")
        .toLowerCase();
    return name === "localhost" || name.endsWith(".localhost") || isLoopbackAddress(name);
}

/**
 * Why a notify relay request is refused, or null. The relay notifies with the server's own API key, so only a
 * person at this machine may use it: the TCP peer must be loopback, nothing may have forwarded the request (a
 * local reverse proxy would make every caller look local), Host must name this machine (a DNS-rebinding page
 * would send its own name) and a browser's Origin, when sent, too (no other site's page may post here).
 */
export function relayRefusal(req: Request): string | null {
    if (!isLoopbackAddress(req.socket.remoteAddress)) {
        return "it answers only requests from this machine (loopback)";
    }
    if (req.get("x-forwarded-for") !== undefined || req.get("forwarded") !== undefined) {
        return "it answers only direct requests, not ones forwarded by a proxy";
    }
    const host = req.get("host");
    if (host === undefined || !isLoopbackHost(host)) {
        return "open the playground as http://localhost:<port>/ or http://127.0.0.1:<port>/";
    }
    const origin = req.get("origin");
    if (origin !== undefined) {
        let originHost: string | undefined;
        try {
            originHost = new URL(origin).host;
        } catch {
            originHost = undefined;
        }
        if (originHost === undefined || originHost !== host) {
            return "it answers only the playground page itself";
        }
    }
    return null;
}

/** `ws://` and `wss://` sources of the page's WebSocket (this server, or WS_HOST) for the CSP. */
function webSocketSources(req: Request, ws: PlaygroundContext["config"]["ws"]): string[] {
    const safe = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
    // The host the browser used (X-Forwarded-Host from a trusted proxy), as GET /rest/pusher/key derives wsHost.
    const hosts = [req.host ?? ""];
    if (ws?.host !== undefined) {
        const bracketed = ws.host.includes(":") && !ws.host.startsWith("[") ? `[${ws.host}]` : ws.host;
        hosts.push(ws.port === undefined ? `${bracketed}:*` : `${bracketed}:${ws.port}`);
    }
    return hosts
        .filter(host => safe.test(host) || /:\*$/.test(host))
        .flatMap(host => [`ws://${host}`, `wss://${host}`]);
}

function selfBaseUrl(req: Request): string {
    const address = req.socket.localAddress ?? "127.0.0.1";
    const host = address.includes(":") ? `[${address}]` : address;
    return `http://${host}:${req.socket.localPort}`;
}

/** Signs the browser in as `?user=` (default: its current session, else john); `?user=anonymous` signs out. */
function resolveSession(mendix: FakeMendix, req: Request, res: Response): FakeSession | undefined {
    const requested = typeof req.query[QUERY.user] === "string" ? (req.query[QUERY.user] as string) : undefined;
    let session = mendix.sessionFromRequest(req);
    if (requested === SIGNED_OUT) {
        if (session) {
            mendix.destroySession(session.token);
        }
        mendix.clearSessionCookie(res);
        return undefined;
    }
    const wanted =
        requested !== undefined && mendix.findUser(requested) ? requested : (session?.user.name ?? DEFAULT_USER);
    if (!session || session.user.name !== wanted) {
        if (session) {
            mendix.destroySession(session.token);
        }
        session = mendix.createSession(wanted);
        mendix.setSessionCookie(res, session);
    }
    return session;
}

function describeWidget(
    root: string
): Pick<PlaygroundBootstrap, "widgetUrl" | "widgetCssUrl" | "widgetProblem" | "widgetSource"> {
    let build;
    try {
        build = findWidgetBuild(root);
    } catch (error) {
        return {
            widgetUrl: null,
            widgetCssUrl: null,
            widgetSource: null,
            widgetProblem: `Reading the widget build failed: ${error}`
        };
    }
    if (!build) {
        return {
            widgetUrl: null,
            widgetCssUrl: null,
            widgetSource: null,
            widgetProblem:
                "The Listen widget is not built yet. Run `npm run build` (it writes dist/), then reload this page."
        };
    }
    const source = build.read(WIDGET_MODULE)?.toString("utf8") ?? "";
    const provided = new Set(providedSpecifiers());
    const missing = bareImports(source).filter(specifier => !provided.has(specifier));
    const css = build.files.find(file => file.endsWith(".css"));
    return {
        widgetUrl: WIDGET_PREFIX + WIDGET_MODULE,
        widgetCssUrl: css ? WIDGET_PREFIX + css : null,
        widgetSource: build.source,
        widgetProblem: missing.length
            ? `The built widget imports ${missing.join(", ")}, which the playground does not provide yet.`
            : null
    };
}

/** A playground mount function bound to a fake Mendix runtime (tests pass their own). */
export function createPlayground(
    options: PlaygroundOptions = {}
): (app: express.Express, ctx: PlaygroundContext) => void {
    const root = options.root ?? REPO_ROOT;
    const actions = options.actions ?? DEFAULT_ACTIONS;
    return (app, ctx) => {
        if (!ctx.config.playground) {
            return;
        }
        if (ctx.config.mendixAppUrl) {
            // Never next to a real Mendix app (config.ts keeps `playground` off then; this is the second lock).
            ctx.logger.warn(
                { mendixAppUrl: ctx.config.mendixAppUrl },
                "MENDIX_APP_URL is set: the playground is not mounted (local demo mode only)"
            );
            return;
        }
        const mendix = options.mendix ?? sharedFakeMendix();
        if (options.mendix === undefined && processSessionSecret?.problem !== undefined) {
            ctx.logger.warn({}, processSessionSecret.problem);
        }
        app.use(mendix.router);
        // Build the browser modules in the background so the first page load is fast.
        browserModules().catch((error: unknown) =>
            ctx.logger.error({ err: error }, "building the playground's browser modules failed")
        );

        app.get("/", (req, res) => {
            const session = resolveSession(mendix, req, res);
            const objects = [...mendix.objects];
            const requestedObject = req.query[QUERY.object];
            const object = objects.find(candidate => candidate.guid === requestedObject) ?? objects[0];
            const userIndex = session ? mendix.users.indexOf(session.user) : -1;
            const bootstrap: PlaygroundBootstrap = {
                user: session ? { name: session.user.name, fullName: session.user.fullName } : null,
                csrfToken: session?.csrfToken ?? "",
                users: mendix.users.map(user => ({ name: user.name, fullName: user.fullName })),
                objects,
                readable: session ? objects.filter(o => mendix.canRead(session.user, o)).map(o => o.guid) : [],
                objectGuid: object.guid,
                widgets: intParam(req.query[QUERY.widgets], 1, 1, 6),
                ignoreOwn: flagParam(req.query[QUERY.ignoreOwn]),
                delay: intParam(req.query[QUERY.delay], 0, 0, 60_000),
                slowMs: intParam(req.query[QUERY.slowMs], 0, 0, 60_000),
                topicMode: req.query[QUERY.topic] === "key" ? "key" : "default",
                actions,
                accessCheck: ctx.config.mendixAppUrl ? "mendix-app" : "fake-runtime",
                ...(ctx.config.metrics?.console ? { consoleUrl: "/console" } : {}),
                ...describeWidget(root)
            };
            const html = renderPage({
                importMap: importMap(),
                session: {
                    userName: session?.user.name ?? null,
                    userGuid: String(2533274790395905 + Math.max(0, userIndex)),
                    roles: session ? ["User"] : [],
                    csrfToken: session?.csrfToken ?? ""
                },
                bootstrap,
                appUrl: VENDOR_PREFIX + "app.js",
                cssUrl: PLAYGROUND_PREFIX + "playground.css"
            });
            res.set("Cache-Control", "no-store");
            res.set("Content-Security-Policy", contentSecurityPolicy(html, webSocketSources(req, ctx.config.ws)));
            res.set("X-Frame-Options", "DENY");
            res.set("Referrer-Policy", "no-referrer");
            res.type("html").send(html);
        });

        app.get(PLAYGROUND_PREFIX + "playground.css", (_req, res) => {
            res.set("Cache-Control", "no-cache");
            res.type("text/css").send(readFileSync(CSS_FILE, "utf8"));
        });

        app.get(VENDOR_PREFIX + ":file", async (req, res) => {
            const modules = await browserModules();
            const module = modules.get(String(req.params.file));
            if (!module) {
                res.status(404).json({ error: { code: "not_found", message: "No such playground module." } });
                return;
            }
            res.set("Cache-Control", "no-cache");
            res.type(module.contentType).send(module.body);
        });

        app.get(WIDGET_PREFIX + ":file", (req, res) => {
            const file = String(req.params.file);
            const build = findWidgetBuild(root);
            const content = build?.read(file);
            if (!content) {
                res.status(404).json({
                    error: { code: "not_found", message: "The widget is not built: run `npm run build`." }
                });
                return;
            }
            res.set("Cache-Control", "no-store");
            res.type(CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream").send(content);
        });

        // What a microflow does with Call REST: POST /rest/pusher/notify with the Bearer API key.
        const relayGuard: express.RequestHandler = (req, res, next) => {
            const refusal = relayRefusal(req);
            if (refusal === null) {
                next();
                return;
            }
            ctx.logger.warn({ ip: req.socket.remoteAddress }, "playground notify relay refused a request");
            res.status(403).json({
                error: {
                    code: "forbidden",
                    message: `The playground's notify relay uses the server's API key, so ${refusal}.`
                }
            });
        };
        app.post(NOTIFY_PATH, relayGuard, express.json({ limit: "64kb" }), async (req, res) => {
            const parsed = notifySchema.safeParse(req.body);
            if (!parsed.success) {
                res.status(400).json({
                    error: {
                        code: "invalid_request",
                        message: "Expected { guid | user | broadcast, action, data?, sender?, count?, topicMode? }.",
                        details: parsed.error.issues.map(issue => ({
                            path: issue.path.join("."),
                            message: issue.message
                        }))
                    }
                });
                return;
            }
            const input = parsed.data;
            let target: Record<string, string>;
            if (input.user !== undefined) {
                target = { user: input.user };
            } else if (input.broadcast !== undefined) {
                target = { broadcast: input.broadcast };
            } else {
                const object = mendix.findObject(input.guid!);
                if (!object) {
                    res.status(400).json({ error: { code: "invalid_request", message: "Unknown object." } });
                    return;
                }
                target =
                    input.topicMode === "key" && object.keyTopic
                        ? { topic: object.keyTopic }
                        : { entity: object.entity, guid: object.guid };
            }
            const notification = {
                ...target,
                action: input.action,
                sender: input.sender ?? "",
                changedDate: new Date().toISOString(),
                ...(input.data ? { data: input.data } : {})
            };
            const batch = input.count > 1;
            const url = selfBaseUrl(req) + (batch ? "/rest/pusher/notify/batch" : "/rest/pusher/notify");
            const body = batch
                ? { notifications: Array.from({ length: input.count }, () => notification) }
                : notification;
            try {
                const response = await fetch(url, {
                    method: "POST",
                    headers: { Authorization: `Bearer ${ctx.notifyApiKey}`, "Content-Type": "application/json" },
                    body: JSON.stringify(body),
                    signal: AbortSignal.timeout(10_000)
                });
                const text = await response.text();
                res.status(response.status).type("application/json").send(text);
            } catch (error) {
                ctx.logger.warn({ err: error }, "playground notify failed");
                res.status(502).json({ error: { code: "broker_error", message: `Notify failed: ${String(error)}` } });
            }
        });

        ctx.logger.info(
            { widget: findWidgetBuild(root)?.source ?? "not built (run npm run build)" },
            "playground mounted at /"
        );
    };
}

/** Mounts the playground with the process-wide fake Mendix runtime (what `npm start` uses). */
export function mountPlayground(app: express.Express, ctx: PlaygroundContext): void {
    createPlayground()(app, ctx);
}
