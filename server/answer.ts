/**
 * JSON answers of the API routes: what `res.json` sends (status, `Content-Type: application/json; charset=utf-8`,
 * `Content-Length`, the body; ETag is off app-wide), written directly. Express's `res.json`/`res.send` look up
 * three app settings, parse and format the content type and copy the body into a Buffer for every answer; on the
 * notify path that was a measurable share of the request (`npm run bench -- --only=layers`, bench/RESULTS.md).
 */
import type { Response } from "express";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Sends `json`, text that is JSON already (e.g. spliced from parts that were serialized before). */
export function sendJsonText(res: Response, status: number, json: string): void {
    res.statusCode = status;
    res.setHeader("Content-Type", JSON_CONTENT_TYPE);
    res.setHeader("Content-Length", Buffer.byteLength(json, "utf8"));
    res.end(json);
}

/** Sends `body` as JSON. */
export function sendJson(res: Response, status: number, body: unknown): void {
    sendJsonText(res, status, JSON.stringify(body));
}
