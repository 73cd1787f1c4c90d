/**
 * Request bodies of the API routes (notify, auth): read once, checked, parsed into `req.body`.
 *
 * - No body: 400 `invalid_request`. Another type than the route takes: 415 `unsupported_media_type`, and so are a
 *   charset other than UTF-8 and any `Content-Encoding` (the callers, Mendix's Call REST and pusher-js, send plain
 *   UTF-8; a compressed body would be a feature the product does not use).
 * - Above `limit` bytes: 413 `payload_too_large`, from `Content-Length` before a byte is read, else while reading;
 *   the rest of the body is drained before the answer, so a keep-alive connection stays usable.
 * - JSON must be an object or an array (400 `invalid_json` otherwise); a form is parsed like `querystring` (a repeated
 *   field becomes an array, which the routes' schemas refuse) with at most `MAX_FORM_FIELDS` fields.
 *
 * Why not `express.json()` / `express.urlencoded()`: the same rules in one pass over the request, where body-parser
 * checked the type again, looked up decoders and attached its stream helpers per request; `npm run bench -- --only=layers`
 * measures the difference (bench/RESULTS.md).
 */
import { parse as parseForm } from "node:querystring";
import type { Request, RequestHandler } from "express";
import { HttpError } from "./errors.js";

export const FORM_TYPE = "application/x-www-form-urlencoded";
/** JSON bodies: `application/json` and any `application/*+json` type. */
export const JSON_TYPES = ["application/json", "application/*+json"];
/** Most fields of a form body (the pusher-js authorization sends 2). */
export const MAX_FORM_FIELDS = 20;

export type BodyKinds = "json" | "json-or-form";

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;
/** JSON that is an object or an array: its first character after white space (body-parser's `strict`). */
const STRICT_JSON_START = /^[ \t\n\r]*[[{]/;

function hasBody(req: Request): boolean {
    const length = req.headers["content-length"];
    return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * The headers' verdict for a route that takes the `accepted` types: what is wrong with them, or how the body is to
 * be parsed.
 */
function checkHeaders(req: Request, accepted: string[], expected: string, limit: number): HttpError | "json" | "form" {
    if (!hasBody(req)) {
        return new HttpError("invalid_request", `The request body is missing; send ${expected}.`);
    }
    const type = req.headers["content-type"];
    const matched = req.is(accepted);
    if (!matched) {
        return new HttpError(
            "unsupported_media_type",
            `Unsupported Content-Type ${type ?? "(none)"}; send ${expected}.`
        );
    }
    const charset = CHARSET.exec(type ?? "")?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
        return new HttpError("unsupported_media_type", `Unsupported charset ${charset}; send UTF-8.`);
    }
    const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
    if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
        return new HttpError(
            "unsupported_media_type",
            `Content-Encoding ${encoding} is not accepted; send the body uncompressed.`
        );
    }
    if (Number(req.headers["content-length"] ?? 0) > limit) {
        return tooLarge(limit);
    }
    return matched === FORM_TYPE ? "form" : "json";
}

function tooLarge(limit: number): HttpError {
    return new HttpError("payload_too_large", `The request body is larger than ${limit} bytes.`, { limit });
}

function parseBody(text: string, json: boolean): unknown {
    if (json) {
        if (!STRICT_JSON_START.test(text)) {
            throw new HttpError("invalid_json", "The request body is not valid JSON.");
        }
        try {
            return JSON.parse(text);
        } catch {
            throw new HttpError("invalid_json", "The request body is not valid JSON.");
        }
    }
    const fields = text === "" ? 0 : text.split("&").length;
    if (fields > MAX_FORM_FIELDS) {
        throw new HttpError("invalid_request", `The form has ${fields} fields; at most ${MAX_FORM_FIELDS} are read.`);
    }
    return parseForm(text, "&", "=", { maxKeys: MAX_FORM_FIELDS });
}

/**
 * Reads the body into `req.body` (see the module comment for every answer). `limit` counts the bytes as sent.
 */
export function readBody(kinds: BodyKinds, limit: number): RequestHandler {
    const accepted = kinds === "json" ? JSON_TYPES : [...JSON_TYPES, FORM_TYPE];
    const expected =
        kinds === "json"
            ? "Content-Type: application/json"
            : "Content-Type: application/x-www-form-urlencoded or application/json";
    return (req, _res, next) => {
        const verdict = checkHeaders(req, accepted, expected, limit);
        if (verdict instanceof HttpError) {
            drainThen(req, () => next(verdict));
            return;
        }
        const json = verdict === "json";
        const chunks: Buffer[] = [];
        let received = 0;
        const stop = (): void => {
            req.off("data", onData);
            req.off("end", onEnd);
            req.off("error", unreadable);
            req.off("close", unreadable);
        };
        const onData = (chunk: Buffer): void => {
            received += chunk.length;
            if (received > limit) {
                stop();
                drainThen(req, () => next(tooLarge(limit)));
                return;
            }
            chunks.push(chunk);
        };
        const onEnd = (): void => {
            stop();
            let text = Buffer.concat(chunks, received).toString("utf8");
            if (text.charCodeAt(0) === 0xfeff) {
                text = text.slice(1);
            }
            try {
                req.body = parseBody(text, json);
            } catch (error) {
                next(error);
                return;
            }
            next();
        };
        // A read error, or the connection gone before the body was complete: the answer reaches nobody, but the
        // chain ends.
        const unreadable = (): void => {
            stop();
            next(new HttpError("invalid_request", "The request body could not be read."));
        };
        req.on("data", onData);
        req.on("end", onEnd);
        req.on("error", unreadable);
        req.on("close", unreadable);
    };
}

/** Runs `then` once the rest of the body has been read and dropped (at once when it is complete already). */
function drainThen(req: Request, then: () => void): void {
    if (req.complete || req.readableEnded || req.destroyed) {
        then();
        return;
    }
    let done = false;
    const once = (): void => {
        if (!done) {
            done = true;
            then();
        }
    };
    req.once("end", once);
    req.once("close", once);
    req.resume();
}
