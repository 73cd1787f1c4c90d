import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_FORM_FIELDS, readBody } from "../body";
import { createErrorHandler } from "../errors";

const LIMIT = 128;
let server: http.Server;
let port = 0;

beforeAll(async () => {
    const app = express();
    const echo: express.RequestHandler = (req, res) => {
        res.json({ body: req.body as unknown });
    };
    app.post("/json", readBody("json", LIMIT), echo);
    app.post("/either", readBody("json-or-form", LIMIT), echo);
    app.use(createErrorHandler(pino({ level: "silent" })));
    server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
    await new Promise<void>(resolve => server.close(() => resolve()));
});

interface Answer {
    status: number;
    body: { body?: unknown; error?: { code: string; message: string } };
}

/** One request on its own connection; `chunks` are written one by one (chunked when no Content-Length is given). */
function send(path: string, headers: Record<string, string>, chunks: Array<string | Buffer>): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path, method: "POST", headers, agent: false }, res => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (text += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer["body"] }));
        });
        req.on("error", reject);
        for (const chunk of chunks) {
            req.write(chunk);
        }
        req.end();
    });
}

const json = (body: string, extra: Record<string, string> = {}) =>
    send("/json", { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), ...extra }, [
        body
    ]);

describe("readBody", () => {
    it("parses a JSON object or array, with or without a UTF-8 byte order mark", async () => {
        expect(await json('{"a":"ü"}')).toEqual({ status: 200, body: { body: { a: "ü" } } });
        expect(await json("\ufeff[1,2]")).toEqual({ status: 200, body: { body: [1, 2] } });
        expect(await json('{"a":1}', { "Content-Type": "application/json; charset=UTF-8" })).toMatchObject({
            status: 200
        });
    });

    it("refuses JSON that is not an object or an array, and text that is not JSON", async () => {
        for (const text of ['"just a string"', "42", "{nope"]) {
            const answer = await json(text);
            expect(answer.status, text).toBe(400);
            expect(answer.body.error?.code).toBe("invalid_json");
        }
    });

    it("names the problem with the headers: missing body, type, charset, compression", async () => {
        const missing = await send("/json", { "Content-Type": "application/json", "Content-Length": "0" }, []);
        expect(missing.status).toBe(400);
        expect(missing.body.error?.message).toMatch(/body is missing/);
        const type = await json("{}", { "Content-Type": "text/plain" });
        expect(type.status).toBe(415);
        expect(type.body.error?.message).toMatch(/Content-Type text\/plain/);
        const charset = await json("{}", { "Content-Type": "application/json; charset=latin1" });
        expect(charset.status).toBe(415);
        expect(charset.body.error?.message).toMatch(/charset latin1; send UTF-8/);
        const gzip = await json("{}", { "Content-Encoding": "gzip" });
        expect(gzip.status).toBe(415);
        expect(gzip.body.error?.message).toMatch(/Content-Encoding gzip .* uncompressed/);
    });

    it("refuses a body above the limit, announced or streamed, and the connection stays usable", async () => {
        const big = "x".repeat(LIMIT);
        const announced = await json(`{"a":"${big}"}`);
        expect(announced.status).toBe(413);
        expect(announced.body.error).toMatchObject({ code: "payload_too_large" });
        const streamed = await send("/json", { "Content-Type": "application/json" }, ['{"a":"', big, big, '"}']);
        expect(streamed.status).toBe(413);
        // Keep-alive: after a refused body, the next request on the same connection is answered.
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const onOneConnection = (body: string) =>
            new Promise<number>((resolve, reject) => {
                const req = http.request(
                    {
                        host: "127.0.0.1",
                        port,
                        path: "/json",
                        method: "POST",
                        agent,
                        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }
                    },
                    res => {
                        res.resume();
                        res.on("end", () => resolve(res.statusCode ?? 0));
                    }
                );
                req.on("error", reject);
                req.end(body);
            });
        expect(await onOneConnection(`{"a":"${big}"}`)).toBe(413);
        expect(await onOneConnection('{"a":1}')).toBe(200);
        agent.destroy();
    });

    it("parses forms on a route that takes them, with repeated fields kept and a cap on the fields", async () => {
        const form = (body: string) =>
            send(
                "/either",
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Content-Length": String(Buffer.byteLength(body))
                },
                [body]
            );
        expect(await form("socket_id=1.2&channel_name=private-a")).toEqual({
            status: 200,
            body: { body: { socket_id: "1.2", channel_name: "private-a" } }
        });
        expect((await form("a=1&a=2")).body.body).toEqual({ a: ["1", "2"] });
        const many = await form(Array.from({ length: MAX_FORM_FIELDS + 1 }, () => "a=1").join("&"));
        expect(many.status).toBe(400);
        expect(many.body.error?.message).toMatch(/21 fields; at most 20/);
        // The JSON route does not take forms.
        expect((await json("a=1", { "Content-Type": "application/x-www-form-urlencoded" })).status).toBe(415);
    });
});
