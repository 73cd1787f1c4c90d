/**
 * WebSocket side of the broker: takes `upgrade` requests for `/app/<key>` on attached http servers, refuses
 * what the protocol refuses (unknown key 4001, bad protocol 4007, over capacity 4100 — as a `pusher:error`
 * frame followed by a close with the same code, which is what pusher-js expects during its handshake),
 * establishes connections and routes their frames. Other upgrade paths get an HTTP 400.
 *
 * Over capacity (4100, pusher-js retries after a backoff) means any of: more sockets than the open-files budget
 * (`socketLimit`, so descriptors never run out and HTTP keeps working), more than `maxConnections`
 * connections, or more than `maxConnectionsPerAddress` from the client's address. Refusal texts never echo
 * client input.
 */
import type { IncomingMessage, Server } from "http";
import type { Duplex } from "stream";
import { WebSocket, WebSocketServer } from "ws";
import { handleClientFrame } from "./client-messages.js";
import { CloseReason, ErrorCode } from "./codes.js";
import { closeSocket, Connection, type ConnectionTiming } from "./connection.js";
import { encodeError, encodeJsonFrame } from "./frames.js";
import type { Hub } from "./hub.js";

export interface WsServerOptions extends ConnectionTiming {
    activityTimeoutSec: number;
    maxMessageBytes: number;
    maxConnections: number;
    /** Connections from one client address (see `clientAddress`). */
    maxConnectionsPerAddress: number;
    /** Open sockets (refused ones still closing included) allowed by the open-files limit; undefined: none known. */
    socketLimit: number | undefined;
    /** The client's address of an upgrade request (the app resolves `X-Forwarded-For` per TRUST_PROXY). */
    clientAddress: (request: IncomingMessage) => string;
}

/** Sockets refused so far, by reason (for stats and the start report). */
export interface RefusalCounts {
    /** Over the open-files budget. */
    descriptors: number;
    /** Over `maxConnections`. */
    connections: number;
    /** Over `maxConnectionsPerAddress`. */
    perAddress: number;
}

/** Default client address: the TCP peer. */
export function socketAddress(request: IncomingMessage): string {
    return request.socket.remoteAddress ?? "unknown";
}

/** Hard WebSocket frame limit; beyond it `ws` closes the socket with 1009. Between `maxMessageBytes` and this,
 * a frame is refused with a `pusher:error` (4302) and the connection stays up. */
export function hardFrameLimit(maxMessageBytes: number): number {
    return Math.max(4 * maxMessageBytes, 64 * 1024);
}

const APP_PATH = /^\/app\/([^/?]+)$/;

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
    socket.on("error", () => undefined);
    if (socket.writable) {
        socket.end(
            `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
        );
    }
    const kill = setTimeout(() => socket.destroy(), 1_000);
    kill.unref();
    socket.once("close", () => clearTimeout(kill));
}

export class WsServer {
    private readonly wss: WebSocketServer;
    private readonly sockets = new Set<WebSocket>();
    private readonly servers = new Set<Server>();
    /** Established connections per client address. */
    private readonly perAddress = new Map<string, number>();
    readonly refused: RefusalCounts = { descriptors: 0, connections: 0, perAddress: 0 };
    private closing: Promise<void> | undefined;

    constructor(
        private readonly hub: Hub,
        private readonly options: WsServerOptions
    ) {
        this.wss = new WebSocketServer({
            noServer: true,
            clientTracking: false,
            perMessageDeflate: false,
            maxPayload: hardFrameLimit(options.maxMessageBytes)
        });
    }

    attach(server: Server): void {
        if (this.servers.has(server)) {
            return;
        }
        this.servers.add(server);
        server.on("upgrade", this.onUpgrade);
    }

    /** Closes every socket with `code` (default 4200), terminating stragglers after 1 s. Idempotent. */
    close(code: number = ErrorCode.RESTARTING, reason: string = CloseReason[ErrorCode.RESTARTING]): Promise<void> {
        if (this.closing === undefined) {
            this.closing = this.closeAll(code, reason);
        }
        return this.closing;
    }

    private async closeAll(code: number, reason: string): Promise<void> {
        const pending = [...this.sockets].map(
            ws =>
                new Promise<void>(resolve => {
                    if (ws.readyState === WebSocket.CLOSED) {
                        resolve();
                        return;
                    }
                    ws.once("close", () => resolve());
                    closeSocket(ws, code, reason);
                })
        );
        await Promise.all(pending);
        this.wss.close();
    }

    private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
        const url = request.url ?? "/";
        const queryStart = url.indexOf("?");
        const path = queryStart < 0 ? url : url.slice(0, queryStart);
        const match = APP_PATH.exec(path);
        if (match === null) {
            rejectUpgrade(socket, 400, "Bad Request");
            return;
        }
        if (this.closing !== undefined) {
            rejectUpgrade(socket, 503, "Service Unavailable");
            return;
        }
        let key: string;
        try {
            key = decodeURIComponent(match[1]);
        } catch {
            rejectUpgrade(socket, 400, "Bad Request");
            return;
        }
        const params = new URLSearchParams(queryStart < 0 ? "" : url.slice(queryStart + 1));
        let address: string;
        try {
            address = this.options.clientAddress(request);
        } catch {
            address = socketAddress(request);
        }
        this.wss.handleUpgrade(request, socket, head, ws => this.onOpen(ws, key, params, address));
    };

    /** Connections currently established from `address`. */
    connectionsFrom(address: string): number {
        return this.perAddress.get(address) ?? 0;
    }

    /** Open WebSockets, refused ones still closing included (each holds a descriptor). */
    get openSockets(): number {
        return this.sockets.size;
    }

    /** Handshake refusal: the `pusher:error` frame pusher-js reads during its handshake, then the close. */
    private refuse(ws: WebSocket, code: keyof typeof CloseReason, message: string): void {
        this.hub.observer?.errorSent(code);
        ws.send(encodeError(code, message));
        closeSocket(ws, code, CloseReason[code]);
    }

    private onOpen(ws: WebSocket, key: string, params: URLSearchParams, address: string): void {
        this.sockets.add(ws);
        ws.on("error", error => this.hub.logger.debug({ err: error }, "broker socket error"));
        ws.once("close", () => this.sockets.delete(ws));
        if (this.closing !== undefined) {
            // The upgrade finished after close() started. 4100 (retry after a backoff), not 4200: pusher-js
            // reconnects at once on 4200, which would spin while the broker is down.
            closeSocket(ws, ErrorCode.OVER_CAPACITY, CloseReason[ErrorCode.OVER_CAPACITY]);
            return;
        }
        const { socketLimit } = this.options;
        if (socketLimit !== undefined && this.sockets.size > socketLimit) {
            // Before anything else: this socket's descriptor is one of the last ones free.
            this.refused.descriptors++;
            this.hub.observer?.connectionRefused("descriptors");
            this.refuse(ws, ErrorCode.OVER_CAPACITY, CloseReason[ErrorCode.OVER_CAPACITY]);
            return;
        }
        if (key !== this.hub.config.key) {
            this.refuse(ws, ErrorCode.APP_NOT_FOUND, "App key not found");
            return;
        }
        const protocol = params.get("protocol");
        const version = protocol !== null && /^\d{1,3}$/.test(protocol) ? Number(protocol) : NaN;
        if (!(version >= 5 && version <= 7)) {
            this.refuse(
                ws,
                ErrorCode.UNSUPPORTED_PROTOCOL,
                protocol === null
                    ? "No protocol version supplied; expected protocol=7"
                    : "Unsupported protocol version; supported: 5 to 7"
            );
            return;
        }
        if (this.hub.connections.size >= this.options.maxConnections) {
            this.refused.connections++;
            this.hub.observer?.connectionRefused("connections");
            this.refuse(ws, ErrorCode.OVER_CAPACITY, CloseReason[ErrorCode.OVER_CAPACITY]);
            return;
        }
        const fromAddress = this.connectionsFrom(address);
        if (fromAddress >= this.options.maxConnectionsPerAddress) {
            this.refused.perAddress++;
            this.hub.observer?.connectionRefused("perAddress");
            this.refuse(
                ws,
                ErrorCode.OVER_CAPACITY,
                `Too many connections from this address (at most ${this.options.maxConnectionsPerAddress}); try again later`
            );
            return;
        }
        this.perAddress.set(address, fromAddress + 1);
        const connection = new Connection(ws, this.hub.newSocketId(), this.options);
        this.hub.add(connection);
        this.hub.observer?.connectionOpened();
        ws.once("close", (code: number) => {
            connection.dispose();
            this.hub.remove(connection);
            this.hub.observer?.connectionClosed(code);
            const left = this.connectionsFrom(address) - 1;
            if (left > 0) {
                this.perAddress.set(address, left);
            } else {
                this.perAddress.delete(address);
            }
        });
        ws.on("pong", () => connection.markActivity());
        ws.on("ping", () => connection.markActivity());
        ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) =>
            this.onMessage(connection, data, isBinary)
        );
        this.hub.send(
            connection,
            encodeJsonFrame("pusher:connection_established", {
                socket_id: connection.socketId,
                activity_timeout: this.options.activityTimeoutSec
            })
        );
    }

    private onMessage(connection: Connection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
        connection.markActivity();
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        if (bytes.length > this.options.maxMessageBytes) {
            this.hub.observer?.errorSent(ErrorCode.MESSAGE_TOO_LARGE);
            this.hub.send(
                connection,
                encodeError(
                    ErrorCode.MESSAGE_TOO_LARGE,
                    `Message too large: ${bytes.length} bytes; at most ${this.options.maxMessageBytes} bytes are allowed`
                )
            );
            return;
        }
        if (isBinary) {
            this.hub.observer?.errorSent(ErrorCode.INVALID_MESSAGE);
            this.hub.send(connection, encodeError(ErrorCode.INVALID_MESSAGE, "Binary frames are not supported"));
            return;
        }
        handleClientFrame(this.hub, connection, bytes.toString("utf8"));
    }
}
