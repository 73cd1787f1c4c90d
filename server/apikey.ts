/**
 * The NOTIFY_API_KEY Bearer check: timing-safe comparison of SHA-256 digests (equal length whatever
 * the caller sends), never logging the key.
 */
import { hash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { HttpError } from "./errors.js";

const BEARER = /^Bearer[ \t]+(\S*)[ \t]*$/i;
const BEARER_SCHEME = /^Bearer(\s|$)/i;
const WWW_AUTHENTICATE = { "WWW-Authenticate": 'Bearer realm="notifylisten"' };

function digest(value: string): Buffer {
    return hash("sha256", value, "buffer");
}

/**
 * What an `Authorization` header holds: nothing (absent or blank), another scheme than Bearer, or a Bearer
 * credential (`""` when it is malformed, e.g. two words).
 */
type Presented = { kind: "none" } | { kind: "other-scheme" } | { kind: "bearer"; credential: string };

function presented(header: string | undefined): Presented {
    const value = header?.trim() ?? "";
    if (value === "") {
        return { kind: "none" };
    }
    if (!BEARER_SCHEME.test(value)) {
        return { kind: "other-scheme" };
    }
    return { kind: "bearer", credential: BEARER.exec(value)?.[1] ?? "" };
}

export interface ApiKeyChecker {
    /** Timing-safe: true when `candidate` equals the API key. */
    matches(candidate: string): boolean;
    /**
     * Reads the `Authorization` header: `"none"` without one (or with another scheme than Bearer),
     * `"valid"` for the right Bearer key, `"invalid"` for any other Bearer value.
     */
    classify(req: Request): "none" | "valid" | "invalid";
    /** Middleware: 401 `missing_api_key` / `invalid_api_key` unless the right Bearer key is sent. */
    require: RequestHandler;
}

export function createApiKeyChecker(apiKey: string): ApiKeyChecker {
    // The configured key is hashed once; the presented one once per request (equal lengths for timingSafeEqual).
    const expected = digest(apiKey);
    const matches = (candidate: string): boolean => timingSafeEqual(digest(candidate), expected);
    const verdict = (header: Presented): "none" | "valid" | "invalid" => {
        if (header.kind !== "bearer") {
            return "none";
        }
        return header.credential !== "" && matches(header.credential) ? "valid" : "invalid";
    };

    const classify = (req: Request): "none" | "valid" | "invalid" => verdict(presented(req.get("authorization")));

    const require: RequestHandler = (req, _res, next) => {
        const header = presented(req.get("authorization"));
        if (header.kind === "none") {
            next(
                new HttpError(
                    "missing_api_key",
                    "Send the API key as 'Authorization: Bearer <NOTIFY_API_KEY>'.",
                    undefined,
                    WWW_AUTHENTICATE
                )
            );
            return;
        }
        if (verdict(header) !== "valid") {
            next(
                new HttpError(
                    "invalid_api_key",
                    "The API key is wrong; send 'Authorization: Bearer <NOTIFY_API_KEY>'.",
                    undefined,
                    WWW_AUTHENTICATE
                )
            );
            return;
        }
        next();
    };

    return { matches, classify, require };
}

export const INVALID_API_KEY_HEADERS = WWW_AUTHENTICATE;
