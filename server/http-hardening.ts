/**
 * What the HTTP server does before any route runs: time limits (slow clients are cut, not held for minutes),
 * JSON answers to the requests Node refuses itself, `X-Content-Type-Options: nosniff` on every answer, and the
 * client address of WebSocket upgrades (which never pass through Express) computed like Express's `req.ip`.
 */
import type { IncomingMessage, Server, ServerOptions } from "node:http";
import type { Duplex } from "node:stream";
import type { Express, RequestHandler } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import proxyAddr from "proxy-addr";
import type { HttpTimeouts } from "./config.js";
import { errorBody } from "./errors.js";

/**
 * Options of `http.createServer`. Node checks the header and request deadlines on a timer
 * (`connectionsCheckingInterval`, default 30 s, which would let a slow client stay up to 30 s past its
 * deadline); here it runs at least every second.
 */
export function httpServerOptions(timeouts: HttpTimeouts): ServerOptions {
    return {
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        keepAliveTimeout: timeouts.keepAliveMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(timeouts.headersMs / 4)))
    };
}

function rawAnswer(status: number, text: string, body?: string): string {
    const head = [
        `HTTP/1.1 ${status} ${text}`,
        "Connection: close",
        "X-Content-Type-Options: nosniff",
        "Cache-Control: no-store"
    ];
    if (body === undefined) {
        return `${head.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`;
    }
    head.push("Content-Type: application/json; charset=utf-8", `Content-Length: ${Buffer.byteLength(body)}`);
    return `${head.join("\r\n")}\r\n\r\n${body}`;
}

/**
 * Answers what Node's HTTP parser refuses (Node's default handler answers without a body): a request whose
 * headers or body did not arrive in time gets 408 `request_timeout`, an unparsable one 400 `invalid_request`,
 * both as the usual JSON error; over-long headers keep Node's 431.
 */
export function answerClientErrors(server: Server, timeouts: HttpTimeouts): void {
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
        const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
        if (error.code === "ECONNRESET" || !socket.writable || pending?.headersSent === true) {
            socket.destroy();
            return;
        }
        let answer: string;
        switch (error.code) {
            case "ERR_HTTP_REQUEST_TIMEOUT":
                answer = rawAnswer(
                    408,
                    "Request Timeout",
                    JSON.stringify(
                        errorBody(
                            "request_timeout",
                            `The request did not arrive in time: headers within ${timeouts.headersMs} ms, the whole request within ${timeouts.requestMs} ms.`
                        )
                    )
                );
                break;
            case "HPE_HEADER_OVERFLOW":
                answer = rawAnswer(431, "Request Header Fields Too Large");
                break;
            case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
                answer = rawAnswer(413, "Payload Too Large");
                break;
            default:
                answer = rawAnswer(
                    400,
                    "Bad Request",
                    JSON.stringify(errorBody("invalid_request", "The request is not valid HTTP/1.1."))
                );
        }
        socket.end(answer);
        const kill = setTimeout(() => socket.destroy(), 1_000);
        kill.unref();
        socket.once("close", () => clearTimeout(kill));
    });
}

/** `X-Content-Type-Options: nosniff` on every answer: no browser ever reads a JSON or text answer as HTML. */
export const noSniff: RequestHandler = (_req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    next();
};

/**
 * The client address of a WebSocket upgrade request, as Express computes `req.ip` (TRUST_PROXY decides which
 * `X-Forwarded-For` hops count), grouped like the rate limits: IPv4-mapped addresses as IPv4, IPv6 per /56.
 */
export function upgradeClientAddress(app: Express): (request: IncomingMessage) => string {
    const trust = app.get("trust proxy fn") as Parameters<typeof proxyAddr>[1];
    return request => ipKeyGenerator(proxyAddr(request, trust));
}
