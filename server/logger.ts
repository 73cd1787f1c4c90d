/**
 * Structured logs (pino). Secrets never reach the output: request headers that carry credentials and
 * any field named like a secret are redacted wherever they appear (top level or one level deep).
 */
import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config.js";

const SECRET_FIELDS = [
    "secret",
    "notifyApiKey",
    "apiKey",
    "password",
    "token",
    "authorization",
    "cookie",
    "set-cookie",
    "x-csrf-token",
    "auth_signature"
];

/** pino `redact` paths (exported for tests). */
export const REDACT_PATHS: string[] = [
    ...SECRET_FIELDS.map(field => `["${field}"]`),
    ...SECRET_FIELDS.map(field => `*["${field}"]`),
    ...["authorization", "cookie", "x-csrf-token", "set-cookie"].flatMap(header => [
        `req.headers["${header}"]`,
        `request.headers["${header}"]`,
        `res.headers["${header}"]`,
        `headers["${header}"]`
    ]),
    "config.notifyApiKey",
    "config.broker.secret",
    "config.broker.credentials.secret",
    "config.metrics.token"
];

export function createLogger(level: LogLevel = "info", destination?: DestinationStream): Logger {
    const options = {
        level,
        base: { service: "notifylisten" },
        redact: { paths: REDACT_PATHS, censor: "[redacted]" },
        timestamp: pino.stdTimeFunctions.isoTime
    };
    return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
