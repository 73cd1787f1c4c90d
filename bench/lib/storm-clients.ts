/**
 * Clients for the reconnect storm: raw `ws` sockets speaking Pusher protocol 7, each standing for one open page with
 * one Listen widget, and behaving like the widget's connection does (src/connection): after a lost socket an
 * immediate retry (pusher-js), then the widget's reconnect backoff with jitter (`reconnectDelay`, 0.5 s … 15 s
 * ±25 %); every subscription authorized through the browser path (session cookie and CSRF token: a Mendix access
 * check each), with the channel's catch-up cursor once it has one; a refused authorization (503, 429) tried again
 * after the widget's request backoff or the server's `Retry-After`, whichever is longer (`retryDelay`). Raw sockets
 * keep the driver light: 5,000 pusher-js clients would measure the driver, not the server.
 */
import { WebSocket } from "ws";
import { formatCursor, type CatchupAnswer, type CatchupCursor } from "../../protocol";
import { retryDelay } from "../../src/connection/backoff";
import { reconnectDelay } from "../../src/connection/reconnect";
import { ListenError } from "../../src/utils/errors";
import type { ClientConfig } from "./clients";
import type { HttpClient } from "./http";

export const BROWSER_HEADERS = { Cookie: "XASSESSIONID=bench-session", "X-Csrf-Token": "bench-csrf-token" };

export interface StormClient {
    readonly index: number;
    readonly channel: string;
    state: "connecting" | "authorizing" | "subscribing" | "subscribed" | "closed";
    cursor?: CatchupCursor;
    /** When it was last subscribed after an authorization whose answer evaluated its cursor (`missed` present). */
    caughtUpAt?: number;
    /** The last such answer. */
    lastCatchup?: CatchupAnswer;
    /** `data` of the notifications it received, live or in a catch-up answer. */
    received: string[];
    /** Authorizations answered 503 or 429 so far. */
    refusals: number;
    /** WebSocket connection attempts so far, and when the last one opened. */
    connects: number;
    openedAt?: number;
    /** When the last authorization was sent and answered. */
    authSentAt?: number;
    authAnsweredAt?: number;
}

export interface StormPool {
    clients: StormClient[];
    /** Authorization requests sent so far. */
    readonly authRequests: number;
    /** Every client subscribed? */
    allSubscribed(): boolean;
    close(): void;
}

interface Connection {
    ws?: WebSocket;
    socketId?: string;
    /** Reconnect attempts since the socket was last subscribed. */
    attempts: number;
    /** Refused authorizations in a row. */
    failures: number;
    pending?: CatchupAnswer;
    timer?: ReturnType<typeof setTimeout>;
}

/** Opens `count` clients, client i on `channelOf(i)`, and keeps them connected until `close()`. */
export function openStormClients(options: {
    http: HttpClient;
    config: ClientConfig;
    count: number;
    channelOf: (index: number) => string;
}): StormPool {
    const { http, config } = options;
    const url = `ws://${config.wsHost}:${config.wsPort}/app/${config.key}?protocol=7&client=bench&version=1`;
    let closed = false;
    let authRequests = 0;
    const clients: StormClient[] = [];
    const connections: Connection[] = [];

    const later = (connection: Connection, delayMs: number, run: () => void): void => {
        clearTimeout(connection.timer);
        connection.timer = setTimeout(run, delayMs);
    };

    const authorize = (client: StormClient, connection: Connection): void => {
        const ws = connection.ws;
        if (closed || ws === undefined || connection.socketId === undefined) {
            return;
        }
        client.state = "authorizing";
        const form: Record<string, string> = { socket_id: connection.socketId, channel_name: client.channel };
        if (client.cursor !== undefined) {
            form.catchup = formatCursor(client.cursor);
        }
        authRequests++;
        client.authSentAt = Date.now();
        http.postForm("/rest/pusher/auth", form, BROWSER_HEADERS).then(
            answer => {
                client.authAnsweredAt = Date.now();
                if (connection.ws !== ws || ws.readyState !== WebSocket.OPEN) {
                    return;
                }
                if (answer.status === 200) {
                    const body = JSON.parse(answer.body) as { auth: string; catchup?: CatchupAnswer };
                    connection.failures = 0;
                    connection.pending = body.catchup;
                    client.state = "subscribing";
                    ws.send(
                        JSON.stringify({
                            event: "pusher:subscribe",
                            data: { channel: client.channel, auth: body.auth }
                        })
                    );
                    return;
                }
                client.refusals++;
                const retryAfter = Number(answer.headers["retry-after"] ?? NaN);
                const error = new ListenError("auth-unavailable", "refused", {
                    status: answer.status,
                    retryable: true,
                    retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined
                });
                const delayMs = retryDelay(error, connection.failures++);
                later(connection, delayMs, () => authorize(client, connection));
            },
            () =>
                later(
                    connection,
                    retryDelay(new ListenError("auth-unavailable", "no answer"), connection.failures++),
                    () => authorize(client, connection)
                )
        );
    };

    const onSubscribed = (client: StormClient, connection: Connection): void => {
        const answer = connection.pending;
        connection.pending = undefined;
        connection.attempts = 0;
        client.state = "subscribed";
        if (answer === undefined) {
            return;
        }
        client.cursor = { epoch: answer.epoch, seq: Math.max(answer.seq, client.cursor?.seq ?? 0) };
        if (answer.missed !== undefined) {
            for (const payload of answer.missed) {
                client.received.push(payload.data ?? "");
            }
            client.lastCatchup = answer;
            client.caughtUpAt = Date.now();
        }
    };

    const connect = (client: StormClient, connection: Connection): void => {
        if (closed) {
            return;
        }
        client.state = "connecting";
        client.connects++;
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.on("open", () => {
            client.openedAt = Date.now();
        });
        connection.ws = ws;
        connection.socketId = undefined;
        ws.on("message", (raw: Buffer) => {
            const frame = JSON.parse(raw.toString("utf8")) as { event: string; channel?: string; data?: string };
            switch (frame.event) {
                case "pusher:connection_established":
                    connection.socketId = (JSON.parse(frame.data!) as { socket_id: string }).socket_id;
                    authorize(client, connection);
                    return;
                case "pusher:ping":
                    ws.send('{"event":"pusher:pong","data":{}}');
                    return;
                case "pusher_internal:subscription_succeeded":
                    onSubscribed(client, connection);
                    return;
                default:
                    if (frame.channel === client.channel && !frame.event.startsWith("pusher")) {
                        client.received.push((JSON.parse(frame.data ?? "{}") as { data?: string }).data ?? "");
                    }
            }
        });
        ws.on("error", () => undefined);
        ws.on("close", () => {
            if (connection.ws !== ws || closed) {
                return;
            }
            connection.ws = undefined;
            client.state = "connecting";
            // pusher-js retries at once; then the widget's reconnect checks with backoff and jitter.
            const delayMs = connection.attempts === 0 ? 0 : reconnectDelay(connection.attempts - 1);
            connection.attempts++;
            later(connection, delayMs, () => connect(client, connection));
        });
    };

    for (let index = 0; index < options.count; index++) {
        const client: StormClient = {
            index,
            channel: options.channelOf(index),
            state: "connecting",
            received: [],
            refusals: 0,
            connects: 0
        };
        const connection: Connection = { attempts: 0, failures: 0 };
        clients.push(client);
        connections.push(connection);
        connect(client, connection);
    }

    return {
        clients,
        get authRequests() {
            return authRequests;
        },
        allSubscribed: () => clients.every(client => client.state === "subscribed"),
        close() {
            closed = true;
            for (const [index, connection] of connections.entries()) {
                clearTimeout(connection.timer);
                connection.ws?.terminate();
                clients[index].state = "closed";
            }
        }
    };
}
