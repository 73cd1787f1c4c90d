/**
 * Errors of the HTTP API: every error answers JSON `{ "error": { "code", "message", "details"? } }`.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { ZodError } from "zod";
import { sendJson } from "./answer.js";

export const ERROR_STATUS = {
    invalid_request: 400,
    invalid_json: 400,
    missing_api_key: 401,
    invalid_api_key: 401,
    missing_metrics_token: 401,
    invalid_metrics_token: 401,
    not_authenticated: 401,
    forbidden: 403,
    not_found: 404,
    request_timeout: 408,
    payload_too_large: 413,
    unsupported_media_type: 415,
    rate_limited: 429,
    internal_error: 500,
    broker_error: 502,
    access_check_unavailable: 503,
    not_ready: 503
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface ErrorBody {
    error: { code: ErrorCode; message: string; details?: unknown };
}

export class HttpError extends Error {
    readonly status: number;
    readonly code: ErrorCode;
    readonly details?: unknown;
    /** Extra response headers, e.g. `WWW-Authenticate`. */
    readonly headers?: Record<string, string>;

    constructor(code: ErrorCode, message: string, details?: unknown, headers?: Record<string, string>) {
        super(message);
        this.name = "HttpError";
        this.status = ERROR_STATUS[code];
        this.code = code;
        this.details = details;
        this.headers = headers;
    }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
    return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

export function sendError(res: Response, code: ErrorCode, message: string, details?: unknown): void {
    sendJson(res, ERROR_STATUS[code], errorBody(code, message, details));
}

export interface IssueDetail {
    path: string;
    message: string;
}

/** zod issues as `[{ path: "notifications.3.action", message }]`. */
export function issueDetails(error: ZodError): IssueDetail[] {
    return error.issues.map(issue => ({
        path: issue.path.map(String).join("."),
        message: issue.message
    }));
}

export function invalidRequest(error: ZodError, message = "The request is not valid."): HttpError {
    const details = issueDetails(error);
    const summary = details.map(detail => (detail.path ? `${detail.path}: ${detail.message}` : detail.message));
    return new HttpError("invalid_request", `${message} ${summary.join("; ")}`.trim(), details);
}

export const notFoundHandler: RequestHandler = (req, res) => {
    sendError(res, "not_found", `Nothing here: ${req.method} ${req.path}`);
};

interface BodyParserError {
    type?: string;
    status?: number;
    statusCode?: number;
    limit?: number;
    expose?: boolean;
}

function fromBodyParser(error: BodyParserError): HttpError | undefined {
    switch (error.type) {
        case "entity.too.large":
            return new HttpError(
                "payload_too_large",
                `The request body is larger than ${error.limit ?? "the limit of"} bytes.`,
                error.limit === undefined ? undefined : { limit: error.limit }
            );
        case "entity.parse.failed":
            return new HttpError("invalid_json", "The request body is not valid JSON.");
        case "charset.unsupported":
        case "encoding.unsupported":
            return new HttpError("unsupported_media_type", "Unsupported charset or content encoding; send UTF-8.");
        case "request.aborted":
        case "request.size.invalid":
        case "stream.encoding.set":
        case "parameters.too.many":
            return new HttpError("invalid_request", "The request body could not be read.");
        default:
            return undefined;
    }
}

/** The last middleware: maps anything thrown to the JSON error body; unexpected errors are logged, not shown. */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
    return (err: unknown, req, res, next) => {
        if (res.headersSent) {
            next(err);
            return;
        }
        let httpError: HttpError | undefined;
        if (err instanceof HttpError) {
            httpError = err;
        } else if (err instanceof ZodError) {
            httpError = invalidRequest(err);
        } else if (err !== null && typeof err === "object") {
            httpError = fromBodyParser(err as BodyParserError);
        }
        const log = req.log ?? logger;
        if (httpError === undefined) {
            log.error({ err }, "unhandled error");
            httpError = new HttpError("internal_error", "Internal server error.");
        } else if (httpError.status >= 500) {
            log.warn({ code: httpError.code, details: httpError.details }, httpError.message);
        } else {
            log.debug({ code: httpError.code }, httpError.message);
        }
        if (httpError.headers) {
            res.set(httpError.headers);
        }
        sendJson(res, httpError.status, errorBody(httpError.code, httpError.message, httpError.details));
    };
}
