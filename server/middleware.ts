/**
 * Small middlewares shared by the routes: CORS allowlist, rate limits and response headers for API answers (the
 * routes' body parsers are in ./body.ts).
 */
import type { Request, RequestHandler } from "express";
import { MemoryStore, ipKeyGenerator, type Options as RateLimitOptions, type Store } from "express-rate-limit";
import { sendJson } from "./answer.js";
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
    /** Requests that do not count (e.g. the Mendix app relaying with the right API key). */
    skip?: (req: Request) => boolean;
    /**
     * The key a request counts under and what the 429 message calls it; default the client address (`req.ip` as
     * TRUST_PROXY decides, IPv6 per /56, like express-rate-limit's own key).
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
 * Rate limit per key (default: client address): every counted answer carries `RateLimit-Policy` and `RateLimit`
 * (the IETF draft 7 headers); above the limit 429 `rate_limited` with `Retry-After` and the JSON error body. The
 * counters live where the app's `RATE_LIMIT_STORES` says (read at its first request, one limiter per app).
 */
export function limiter(options: LimiterOptions): RequestHandler {
    const byApp = new WeakMap<object, RequestHandler>();
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

const byAddress = (req: Request): { key: string; per: "address" } => ({
    key: ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? "", 56),
    per: "address"
});

/**
 * One fixed window per key, counted in an express-rate-limit `Store` (its memory store, or the Redis adapter's):
 * the key computed once, one await per request. express-rate-limit's own middleware computed `req.ip` three times
 * and awaited four times per request, which cost 40-90 µs per notify in the server (bench/RESULTS.md, issue 16).
 */
function createLimiter(options: LimiterOptions, shared: Store | undefined): RequestHandler {
    const windowMs = options.windowMs ?? 60_000;
    const limit = options.perMinute;
    const store = shared ?? new MemoryStore();
    store.init?.({ windowMs } as RateLimitOptions);
    const policy = `${limit};w=${Math.ceil(windowMs / 1000)}`;
    const keyOf = options.keyOf ?? byAddress;
    return async (req, res, next) => {
        if (options.skip?.(req) === true) {
            next();
            return;
        }
        const { key, per } = keyOf(req);
        const { totalHits, resetTime } = await store.increment(key);
        const reset =
            resetTime === undefined
                ? Math.ceil(windowMs / 1000)
                : Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000));
        res.setHeader("RateLimit-Policy", policy);
        res.setHeader("RateLimit", `limit=${limit}, remaining=${Math.max(limit - totalHits, 0)}, reset=${reset}`);
        if (totalHits <= limit) {
            next();
            return;
        }
        res.setHeader("Retry-After", String(reset));
        // Never the key itself: for sessions it is derived from the session cookie.
        req.log.warn({ ip: req.ip, what: options.what, per, limit: options.name }, "rate limited");
        sendJson(
            res,
            429,
            errorBody(
                "rate_limited",
                `Too many ${options.what} requests from this ${per} (limit ${limit} per minute); retry after ${reset} s.`,
                { limit, retryAfter: reset, per }
            )
        );
    };
}

/** API answers are never cached (`noSniff` in ./http-hardening.ts, first in the chain, marks every answer nosniff). */
export const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
};
