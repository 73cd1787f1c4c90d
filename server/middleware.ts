/**
 * Small middlewares shared by the routes: CORS allowlist, rate limits and response headers for API answers (the
 * routes' body parsers are in ./body.ts).
 */
import type { Request, RequestHandler } from "express";
import {
    rateLimit,
    type Options as RateLimitOptions,
    type RateLimitRequestHandler,
    type Store
} from "express-rate-limit";
import type { Logger } from "pino";
import { errorBody } from "./errors.js";

export const CORS_ALLOWED_HEADERS = "Content-Type, X-Csrf-Token, Authorization";
export const CORS_ALLOWED_METHODS = "GET, POST, OPTIONS";

/**
 * CORS allowlist: reflects `Origin` (with credentials) only when it is in `origins` (or `origins`
 * contains `*`), answers preflights (204 allowed, 403 `forbidden` refused). Same-origin requests need
 * nothing from here; refused cross-origin answers simply lack the headers, so the browser blocks them.
 */
export function cors(origins: readonly string[]): RequestHandler {
    const any = origins.includes("*");
    const allowed = new Set(origins);
    return (req, res, next) => {
        res.vary("Origin");
        const origin = req.get("origin");
        const ok = origin !== undefined && (any ? origin !== "null" : allowed.has(origin));
        if (ok) {
            res.setHeader("Access-Control-Allow-Origin", origin);
            res.setHeader("Access-Control-Allow-Credentials", "true");
            res.setHeader("Access-Control-Expose-Headers", "Retry-After, X-Request-Id");
        }
        const preflight = req.method === "OPTIONS" && req.get("access-control-request-method") !== undefined;
        if (!preflight) {
            next();
            return;
        }
        if (!ok) {
            res.status(403).json(
                errorBody("forbidden", `Origin ${origin ?? "(none)"} is not allowed; add it to CORS_ORIGINS.`)
            );
            return;
        }
        res.setHeader("Access-Control-Allow-Methods", CORS_ALLOWED_METHODS);
        res.setHeader("Access-Control-Allow-Headers", CORS_ALLOWED_HEADERS);
        res.setHeader("Access-Control-Max-Age", "600");
        res.status(204).end();
    };
}

export interface LimiterOptions {
    /** Requests per minute per key. */
    perMinute: number;
    /** What the message calls the limited thing. */
    what: string;
    logger: Logger;
    /** Requests that do not count (e.g. the Mendix app relaying with the right API key). */
    skip?: RateLimitOptions["skip"];
    /**
     * The key a request counts under and what the 429 message calls it; default the client address
     * (express-rate-limit's own key: `req.ip`, IPv6 per /56).
     */
    keyOf?: (req: Request) => { key: string; per: "address" | "session" };
    /** Name of the limit in logs (several limiters may guard one route). */
    name?: string;
    windowMs?: number;
}

/**
 * Where an app keeps its rate-limit counter stores (`app.locals`): the cluster adapter's, shared by every instance
 * with REDIS_URL (cluster/). A store per limiter name; undefined: express-rate-limit's memory store.
 */
export const RATE_LIMIT_STORES = "notifylistenRateLimitStores";
export type RateLimitStores = (name: string) => Store | undefined;

/**
 * Rate limit per key (default: client address): 429 `rate_limited` with `Retry-After` and the JSON error body.
 * The counters live where the app's `RATE_LIMIT_STORES` says (read at its first request, one limiter per app).
 */
export function limiter(options: LimiterOptions): RequestHandler {
    const byApp = new WeakMap<object, RateLimitRequestHandler>();
    return (req, res, next) => {
        let handler = byApp.get(req.app);
        if (handler === undefined) {
            const stores = req.app.locals[RATE_LIMIT_STORES] as RateLimitStores | undefined;
            handler = createLimiter(options, stores?.(options.name ?? options.what));
            byApp.set(req.app, handler);
        }
        return handler(req, res, next);
    };
}

function createLimiter(options: LimiterOptions, store: Store | undefined): RateLimitRequestHandler {
    const windowMs = options.windowMs ?? 60_000;
    const keyOf = options.keyOf;
    return rateLimit({
        ...(store === undefined ? {} : { store }),
        // Created at the app's first request (so it finds the app's store), once per app.
        validate: { creationStack: false },
        windowMs,
        limit: options.perMinute,
        standardHeaders: "draft-7",
        legacyHeaders: false,
        skip: options.skip,
        ...(keyOf === undefined ? {} : { keyGenerator: (req: Request) => keyOf(req).key }),
        logger: {
            warn: (...args: unknown[]) => options.logger.warn({ args }, "rate limiter warning"),
            error: (...args: unknown[]) => options.logger.error({ args }, "rate limiter error")
        },
        handler: (req, res) => {
            const retryAfter = Number(res.getHeader("Retry-After") ?? Math.ceil(windowMs / 1000));
            const per = keyOf === undefined ? "address" : keyOf(req).per;
            // Never the key itself: for sessions it is derived from the session cookie.
            req.log?.warn({ ip: req.ip, what: options.what, per, limit: options.name }, "rate limited");
            res.status(429).json(
                errorBody(
                    "rate_limited",
                    `Too many ${options.what} requests from this ${per} (limit ${options.perMinute} per minute); retry after ${retryAfter} s.`,
                    { limit: options.perMinute, retryAfter, per }
                )
            );
        }
    });
}

/** What every `/rest/pusher` answer gets: the CORS allowlist and `Cache-Control: no-store`, as one router layer. */
export function apiHeaders(origins: readonly string[]): RequestHandler {
    const allow = cors(origins);
    return (req, res, next) => {
        res.setHeader("Cache-Control", "no-store");
        allow(req, res, next);
    };
}

/** API answers are never cached (`noSniff` in ./http-hardening.ts, first in the chain, marks every answer nosniff). */
export const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
};
