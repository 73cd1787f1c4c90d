/**
 * The NOTIFY_API_KEY Bearer check: timing-safe comparison of SHA-256 digests (equal length whatever
 * the caller sends), never logging the key.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { HttpError } from "./errors.js";

const BEARER = /^Bearer[ \t]+(\S*)[ \t]*$/i;
const WWW_AUTHENTICATE = { "WWW-Authenticate": 'Bearer realm="notifylisten"' };

function digest(value: string): Buffer {
    return createHash("sha256").update(value, "utf8").digest();
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
    const expected = digest(apiKey);
    const matches = (candidate: string): boolean => timingSafeEqual(digest(candidate), expected);

    const classify = (req: Request): "none" | "valid" | "invalid" => {
        const header = req.get("authorization");
        if (header === undefined || header.trim() === "") {
            return "none";
        }
        if (!/^Bearer(\s|$)/i.test(header.trim())) {
            return "none";
        }
        const match = BEARER.exec(header.trim());
        return match !== null && match[1] !== "" && matches(match[1]) ? "valid" : "invalid";
    };

    const require: RequestHandler = (req, _res, next) => {
        const header = req.get("authorization");
        if (header === undefined || header.trim() === "") {
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
        if (classify(req) !== "valid") {
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
