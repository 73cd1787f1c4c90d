/**
 * Per-request context: a request id (from a sane `X-Request-Id` or a new UUID), a child logger
 * `req.log`, one completion log line per request, and the count of requests still in flight
 * (graceful shutdown waits for it).
 */
import { randomUUID } from "node:crypto";
import type { Express, RequestHandler } from "express";
import type { Logger } from "pino";
import { errorBody } from "./errors.js";

declare module "express-serve-static-core" {
    interface Request {
        /** Request id, also sent back as `X-Request-Id`. */
        id: string;
        /** Logger bound to this request (`reqId`). */
        log: Logger;
    }
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** Where a request keeps its child logger once made. */
const REQUEST_LOG = Symbol("request log");

/**
 * A debug line of a request that went well: written through `req.log` only when `logger` (the app's) is at debug,
 * so that at info such a request never makes its child logger.
 */
export function logDebug(logger: Logger, req: { readonly log: Logger }, fields: object, message: string): void {
    if (logger.isLevelEnabled("debug")) {
        req.log.debug(fields, message);
    }
}

export interface InFlight {
    /** Requests that started and have not finished or closed yet. */
    readonly count: number;
    /** Resolves when no request is in flight (immediately when none is). */
    idle(): Promise<void>;
}

export interface RequestContext {
    /** Gives the requests of `app` their `req.log` (the middleware and every later handler use it). */
    provideLog(app: Express): void;
    /** Request id, in-flight count and completion log; needs `provideLog` on the app. */
    middleware: RequestHandler;
    inFlight: InFlight;
    /**
     * Graceful shutdown: from now on, requests that arrive (on kept-alive connections) are answered 503
     * `not_ready` with `Connection: close` and are not run; requests already in flight finish normally.
     */
    startClosing(): void;
}

export function createRequestContext(logger: Logger): RequestContext {
    let count = 0;
    let closing = false;
    let waiters: Array<() => void> = [];

    const done = (): void => {
        count--;
        if (count === 0) {
            const ready = waiters;
            waiters = [];
            ready.forEach(resolve => resolve());
        }
    };

    const middleware: RequestHandler = (req, res, next) => {
        const incoming = req.get("x-request-id");
        req.id = incoming !== undefined && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
        res.setHeader("X-Request-Id", req.id);
        if (closing) {
            // A request that arrives after close() started is not run: once in-flight requests drained, the
            // broker closes its sockets, so a notify accepted now could answer 200 and reach nobody.
            res.setHeader("Connection", "close");
            res.setHeader("Retry-After", "1");
            res.status(503).json(errorBody("not_ready", "The server is shutting down; retry in a moment."));
            req.log.info({ method: req.method, path: req.path, status: 503 }, "request refused: shutting down");
            return;
        }
        const started = process.hrtime.bigint();
        count++;
        const end = (): void => {
            done();
            // Successful requests at debug (LOG_LEVEL=debug shows them); refusals and failures at info. The line
            // is built only when its level is on.
            const level = res.statusCode < 400 ? "debug" : "info";
            if (!logger.isLevelEnabled(level)) {
                return;
            }
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            const entry = {
                method: req.method,
                path: req.path,
                status: res.statusCode,
                ms: Math.round(ms * 10) / 10,
                aborted: !res.writableFinished || undefined
            };
            req.log[level](entry, "request");
        };
        // "close" follows "finish" on every answer, and comes alone when the connection dropped first.
        res.on("close", end);
        next();
    };

    return {
        provideLog(app) {
            // Most requests never log (successes at debug): the child logger is made at the first `req.log`.
            Object.defineProperty(app.request, "log", {
                configurable: true,
                get(this: { id: string; [REQUEST_LOG]?: Logger }): Logger {
                    this[REQUEST_LOG] ??= logger.child({ reqId: this.id });
                    return this[REQUEST_LOG];
                }
            });
        },
        middleware,
        inFlight: {
            get count() {
                return count;
            },
            idle() {
                return count === 0 ? Promise.resolve() : new Promise<void>(resolve => waiters.push(resolve));
            }
        },
        startClosing() {
            closing = true;
        }
    };
}
