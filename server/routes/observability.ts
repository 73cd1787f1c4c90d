/**
 * `GET /metrics` (Prometheus text format) and the operator console (`GET /console`, its script and stylesheet, and
 * `GET /console/data.json`, which the page polls). Mounted only when METRICS_TOKEN is set (server/app.ts); the
 * console can be switched off alone (METRICS_CONSOLE=false).
 *
 * Every answer needs the token: `Authorization: Bearer <METRICS_TOKEN>` (Prometheus, curl), or HTTP Basic with
 * any user name and the token as password (a browser asks for it once; Prometheus' `basic_auth` works as well).
 * Compared timing-safe (SHA-256 digests of equal length), never logged, never taken from a query string. Requests
 * count against a per-address rate limit, so guessing costs time.
 *
 * The console page carries no data and no inline script (CSP `script-src 'self'`); its script fetches the
 * figures, which never include a payload's `data`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Router, type Request, type RequestHandler } from "express";
import { HttpError } from "../errors.js";
import type { Metrics } from "../metrics.js";
import { limiter } from "../middleware.js";

export const METRICS_PATH = "/metrics";
export const CONSOLE_PATH = "/console";
export const CONSOLE_DATA_PATH = "/console/data.json";
/** Requests per minute per client address to /metrics and /console*: a scraper, several console tabs. */
export const OBSERVABILITY_REQUESTS_PER_MINUTE = 600;
/** The console page asks for new figures this often. */
export const CONSOLE_REFRESH_MS = 2_000;

const REALM = 'realm="notifylisten-metrics", charset="UTF-8"';
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const BASIC = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i;

/** The console's script and stylesheet: server/console/ (beside this module's source or, compiled, in the repository). */
function consoleAssetDir(): string {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const candidates = [path.join(here, "../console"), path.join(here, "../../../server/console")];
    return candidates.find(dir => existsSync(path.join(dir, "console.js"))) ?? candidates[0];
}

function digest(value: string): Buffer {
    return createHash("sha256").update(value, "utf8").digest();
}

/** The token a request presents: Bearer, or the password of HTTP Basic; undefined when it sends neither. */
export function presentedToken(req: Request): string | undefined {
    const header = req.get("authorization")?.trim();
    if (header === undefined || header === "") {
        return undefined;
    }
    const bearer = BEARER.exec(header);
    if (bearer !== null) {
        return bearer[1];
    }
    const basic = BASIC.exec(header);
    if (basic !== null) {
        const decoded = Buffer.from(basic[1], "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        return colon < 0 ? "" : decoded.slice(colon + 1);
    }
    return "";
}

/** 401 unless the request presents the token; the challenge makes a browser ask for it (HTTP Basic). */
export function requireToken(token: string): RequestHandler {
    const expected = digest(token);
    return (req, _res, next) => {
        const presented = presentedToken(req);
        const challenge = {
            "WWW-Authenticate": req.path.startsWith(CONSOLE_PATH) ? `Basic ${REALM}` : `Bearer ${REALM}`
        };
        if (presented === undefined) {
            next(
                new HttpError(
                    "missing_metrics_token",
                    "Send the metrics token: 'Authorization: Bearer <METRICS_TOKEN>' (or HTTP Basic with the token as password).",
                    undefined,
                    challenge
                )
            );
            return;
        }
        if (!timingSafeEqual(digest(presented), expected)) {
            next(new HttpError("invalid_metrics_token", "The metrics token is wrong.", undefined, challenge));
            return;
        }
        next();
    };
}

/** No caching, no framing, no sniffing, no referrer, and readable only by this origin. */
const privateAnswer: RequestHandler = (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    next();
};

/** The console's Content Security Policy: its own script and stylesheet, requests to itself, nothing else. */
export const CONSOLE_CSP = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
].join("; ");

function consolePage(): string {
    return `<!doctype html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link rel="icon" href="data:,">
    <title>Console — Notify &amp; Listen</title>
    <link rel="stylesheet" href="${CONSOLE_PATH}/console.css">
    <script type="module" src="${CONSOLE_PATH}/console.js"></script>
</head>
<body data-refresh-ms="${CONSOLE_REFRESH_MS}" data-data-url="${CONSOLE_DATA_PATH}">
    <noscript>The console needs JavaScript.</noscript>
</body>
</html>
`;
}

export interface ObservabilityOptions {
    metrics: Metrics;
    token: string;
    console: boolean;
}

export function createObservabilityRouter(options: ObservabilityOptions): Router {
    const router = Router();
    const guard: RequestHandler[] = [
        limiter({
            perMinute: OBSERVABILITY_REQUESTS_PER_MINUTE,
            what: "metrics and console",
            name: "observability per address"
        }),
        privateAnswer,
        requireToken(options.token)
    ];

    router.get(METRICS_PATH, ...guard, async (_req, res) => {
        res.setHeader("Content-Type", options.metrics.contentType);
        res.send(await options.metrics.text());
    });

    if (!options.console) {
        return router;
    }
    const assets = consoleAssetDir();
    const files: Record<string, { file: string; type: string }> = {
        "console.js": { file: path.join(assets, "console.js"), type: "text/javascript; charset=utf-8" },
        "console.css": { file: path.join(assets, "console.css"), type: "text/css; charset=utf-8" }
    };
    // One snapshot per second at most, however many console tabs poll.
    let cached: { at: number; body: Promise<string> } | undefined;

    router.get(CONSOLE_PATH, ...guard, (_req, res) => {
        res.setHeader("Content-Security-Policy", CONSOLE_CSP);
        res.type("html").send(consolePage());
    });
    router.get(CONSOLE_DATA_PATH, ...guard, async (_req, res) => {
        const now = Date.now();
        if (cached === undefined || now - cached.at >= 1_000) {
            cached = { at: now, body: options.metrics.snapshot().then(snapshot => JSON.stringify(snapshot)) };
        }
        res.type("application/json").send(await cached.body);
    });
    router.get(`${CONSOLE_PATH}/:file`, ...guard, (req, res, next) => {
        const name = String(req.params.file);
        const asset = Object.prototype.hasOwnProperty.call(files, name) ? files[name] : undefined;
        if (asset === undefined) {
            next();
            return;
        }
        res.type(asset.type).send(readFileSync(asset.file, "utf8"));
    });
    return router;
}
