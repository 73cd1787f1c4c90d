/**
 * Test helpers for anything that talks to the embedded broker: start it on a real http server
 * (127.0.0.1, ephemeral port), connect the real pusher-js client, the real `pusher` SDK or a raw `ws`
 * socket, and wait for things with bounded timeouts. Used by the broker conformance suite and reusable by
 * server and benchmark tests.
 */
import express from "express";
import http from "http";
import type { AddressInfo } from "net";
import pino, { type Logger } from "pino";
import PusherServer from "pusher";
import PusherClient, { type Channel, type ChannelAuthorizationHandler } from "pusher-js";
import { WebSocket } from "ws";
import { type Broker, type BrokerOptions, createBroker, randomCredentials } from "../../server/broker";
import { channelAuthToken } from "../../server/broker/signature";

export type { Channel };
export { PusherClient, PusherServer };

export const DEFAULT_TIMEOUT_MS = 5_000;

/** A pino logger that writes nothing. */
export function silentLogger(): Logger {
    return pino({ level: "silent" });
}

export interface Credentials {
    appId: string;
    key: string;
    secret: string;
}

export interface BrokerServer extends Credentials {
    broker: Broker;
    server: http.Server;
    app: express.Express;
    port: number;
    /** `http://127.0.0.1:<port>` */
    url: string;
    /** `ws://127.0.0.1:<port>/app/<key>?protocol=7&client=test&version=1` */
    wsUrl: string;
    /** A `pusher` SDK instance pointed at this broker. */
    sdk(overrides?: Partial<Credentials>): PusherServer;
    /** Closes the broker (4200 to every socket) and the http server. Idempotent. */
    close(): Promise<void>;
}

export type StartBrokerOptions = Partial<Omit<BrokerOptions, "logger">> & {
    logger?: Logger;
    /** Listen on this port (e.g. to restart on the same one); default 0 (ephemeral). */
    port?: number;
};

/** Starts an express app with `broker.router` and `broker.attach(server)` on 127.0.0.1. */
export async function startBrokerServer(options: StartBrokerOptions = {}): Promise<BrokerServer> {
    const { port: wantedPort = 0, logger = silentLogger(), ...brokerOptions } = options;
    const credentials = { ...randomCredentials(), ...brokerOptions };
    const broker = createBroker({ ...credentials, ...brokerOptions, logger });
    const app = express();
    app.use(broker.router);
    app.use((_req, res) => {
        res.status(404).type("text/plain").send("Not found");
    });
    const server = http.createServer(app);
    broker.attach(server);
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(wantedPort, "127.0.0.1", () => {
            server.off("error", reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    let closing: Promise<void> | undefined;
    const { appId, key, secret } = broker;
    return {
        appId,
        key,
        secret,
        broker,
        server,
        app,
        port,
        url: `http://127.0.0.1:${port}`,
        wsUrl: `ws://127.0.0.1:${port}/app/${key}?protocol=7&client=test&version=1`,
        sdk: overrides => createSdk(port, { appId, key, secret, ...overrides }),
        close: () => {
            closing ??= (async () => {
                await broker.close();
                await new Promise<void>(resolve => {
                    server.close(() => resolve());
                    server.closeAllConnections();
                });
            })();
            return closing;
        }
    };
}

/** The real `pusher` SDK, pointed at a broker on 127.0.0.1:<port>. */
export function createSdk(port: number, credentials: Credentials): PusherServer {
    return new PusherServer({
        ...credentials,
        host: "127.0.0.1",
        port: String(port),
        useTLS: false,
        timeout: DEFAULT_TIMEOUT_MS
    });
}

export interface ClientOptions {
    /** App key to connect with; default the broker's. */
    key?: string;
    /** Secret used to sign subscriptions; default the broker's (pass another to provoke refusals). */
    secret?: string;
    /** Presence member this client claims on presence channels. */
    presenceUser?: { user_id: string; user_info?: unknown };
    /** Replace the signing handler entirely. */
    authorize?: ChannelAuthorizationHandler;
    /** Extra pusher-js options. */
    pusherOptions?: Partial<ConstructorParameters<typeof PusherClient>[1]>;
}

/** A pusher-js client (Node build, ws transport only) for a broker; connects at once, does not wait. */
export function createClient(target: { port: number } & Credentials, options: ClientOptions = {}): PusherClient {
    const key = options.key ?? target.key;
    const secret = options.secret ?? target.secret;
    const presenceUser = options.presenceUser ?? { user_id: "test-user" };
    const sign: ChannelAuthorizationHandler = (params, callback) => {
        if (params.channelName.startsWith("presence-")) {
            const channelData = JSON.stringify(presenceUser);
            callback(null, {
                auth: channelAuthToken(key, secret, params.socketId, params.channelName, channelData),
                channel_data: channelData
            });
            return;
        }
        callback(null, { auth: channelAuthToken(key, secret, params.socketId, params.channelName) });
    };
    return new PusherClient(key, {
        cluster: "local",
        wsHost: "127.0.0.1",
        wsPort: target.port,
        forceTLS: false,
        enabledTransports: ["ws"],
        disableStats: true,
        channelAuthorization: { customHandler: options.authorize ?? sign },
        ...options.pusherOptions
    });
}

/** Creates a pusher-js client and waits until it is connected. */
export async function connectClient(
    target: { port: number } & Credentials,
    options: ClientOptions = {},
    timeoutMs = DEFAULT_TIMEOUT_MS
): Promise<PusherClient> {
    const client = createClient(target, options);
    try {
        await waitForState(client, "connected", timeoutMs);
    } catch (error) {
        client.disconnect();
        throw error;
    }
    return client;
}

/** Waits until a pusher-js client reaches `state` (e.g. "connected", "disconnected", "failed"). */
export function waitForState(client: PusherClient, state: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (client.connection.state === state) {
        return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
        const onChange = (change: { current: string }) => {
            if (change.current === state) {
                clearTimeout(timer);
                client.connection.unbind("state_change", onChange);
                resolve();
            }
        };
        const timer = setTimeout(() => {
            client.connection.unbind("state_change", onChange);
            reject(
                new Error(
                    `pusher-js did not reach state "${state}" within ${timeoutMs} ms (now ${client.connection.state})`
                )
            );
        }, timeoutMs);
        client.connection.bind("state_change", onChange);
    });
}

/** Polls `predicate` every `intervalMs` until it returns true; rejects after `timeoutMs`. */
export async function waitFor(
    predicate: () => boolean | Promise<boolean>,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    intervalMs = 10
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await predicate()) {
            return;
        }
        if (Date.now() >= deadline) {
            throw new Error(`Condition not met within ${timeoutMs} ms`);
        }
        await delay(intervalMs);
    }
}

export function delay(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

/** Resolves with the data of the next `event` on a pusher-js channel (or client); rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(
    source: Channel | PusherClient,
    event: string,
    timeoutMs = DEFAULT_TIMEOUT_MS
): Promise<T> {
    return new Promise((resolve, reject) => {
        const handler = (data: T) => {
            clearTimeout(timer);
            source.unbind(event, handler);
            resolve(data);
        };
        const timer = setTimeout(() => {
            source.unbind(event, handler);
            reject(new Error(`No "${event}" event within ${timeoutMs} ms`));
        }, timeoutMs);
        source.bind(event, handler);
    });
}

/** Collects every `event` on a channel into an array (for "was NOT delivered" assertions). */
export function collectEvents<T = unknown>(channel: Channel, event: string): { events: T[]; stop(): void } {
    const events: T[] = [];
    const handler = (data: T) => events.push(data);
    channel.bind(event, handler);
    return { events, stop: () => channel.unbind(event, handler) };
}

/** Subscribes and waits for `pusher:subscription_succeeded`; rejects with the error data on `pusher:subscription_error`. */
export function subscribe(client: PusherClient, channelName: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Channel> {
    const channel = client.subscribe(channelName);
    if (channel.subscribed) {
        return Promise.resolve(channel);
    }
    return new Promise((resolve, reject) => {
        const done = () => {
            clearTimeout(timer);
            channel.unbind("pusher:subscription_succeeded", onSuccess);
            channel.unbind("pusher:subscription_error", onError);
        };
        const onSuccess = () => {
            done();
            resolve(channel);
        };
        const onError = (error: unknown) => {
            done();
            reject(
                Object.assign(new Error(`Subscription to ${channelName} refused: ${JSON.stringify(error)}`), {
                    data: error
                })
            );
        };
        const timer = setTimeout(() => {
            done();
            reject(new Error(`No subscription answer for ${channelName} within ${timeoutMs} ms`));
        }, timeoutMs);
        channel.bind("pusher:subscription_succeeded", onSuccess);
        channel.bind("pusher:subscription_error", onError);
    });
}

/** Subscribes and resolves with the `pusher:subscription_error` data; rejects if the subscription succeeds. */
export async function subscriptionError(
    client: PusherClient,
    channelName: string,
    timeoutMs = DEFAULT_TIMEOUT_MS
): Promise<unknown> {
    try {
        await subscribe(client, channelName, timeoutMs);
    } catch (error) {
        if (error instanceof Error && "data" in error) {
            return (error as Error & { data: unknown }).data;
        }
        throw error;
    }
    throw new Error(`Subscription to ${channelName} succeeded but was expected to fail`);
}

/** A frame received on a raw socket: `data` is parsed when it is a JSON string. */
export interface RawFrame {
    event: string;
    channel?: string;
    data: unknown;
    user_id?: string;
}

export interface RawSocket {
    ws: WebSocket;
    /** Every frame received so far. */
    frames: RawFrame[];
    /** Resolves with the close code and reason. */
    closed: Promise<{ code: number; reason: string }>;
    /** Next frame (received after the frames already consumed by `next`) matching `predicate`. */
    next(predicate?: (frame: RawFrame) => boolean, timeoutMs?: number): Promise<RawFrame>;
    /** Sends an object as JSON, or a string as is. */
    send(message: unknown): void;
    close(): Promise<void>;
}

/**
 * A plain `ws` client (no pusher-js): answers nothing by itself, for protocol-level tests. `headers` go with the
 * upgrade request (e.g. `X-Forwarded-For` for the per-address limits).
 */
export function openRawSocket(
    url: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    headers: Record<string, string> = {}
): Promise<RawSocket> {
    const ws = new WebSocket(url, { headers });
    const frames: RawFrame[] = [];
    let cursor = 0;
    const waiters = new Set<() => void>();
    ws.on("message", raw => {
        let frame: RawFrame;
        try {
            frame = JSON.parse(raw.toString()) as RawFrame;
        } catch {
            frame = { event: "(unparsable)", data: raw.toString() };
        }
        if (typeof frame.data === "string") {
            try {
                frame.data = JSON.parse(frame.data);
            } catch {
                // keep the string
            }
        }
        frames.push(frame);
        for (const wake of [...waiters]) {
            wake();
        }
    });
    const closed = new Promise<{ code: number; reason: string }>(resolve => {
        ws.on("close", (code, reason) => {
            resolve({ code, reason: reason.toString() });
            for (const wake of [...waiters]) {
                wake();
            }
        });
    });
    ws.on("error", () => undefined);
    const socket: RawSocket = {
        ws,
        frames,
        closed,
        next: (predicate = () => true, waitMs = DEFAULT_TIMEOUT_MS) =>
            new Promise((resolve, reject) => {
                const check = () => {
                    while (cursor < frames.length) {
                        const frame = frames[cursor++];
                        if (predicate(frame)) {
                            finish();
                            resolve(frame);
                            return;
                        }
                    }
                };
                const finish = () => {
                    clearTimeout(timer);
                    waiters.delete(check);
                };
                const timer = setTimeout(() => {
                    finish();
                    reject(new Error(`No matching frame within ${waitMs} ms; received ${JSON.stringify(frames)}`));
                }, waitMs);
                waiters.add(check);
                check();
            }),
        send: message => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
        close: async () => {
            if (ws.readyState !== WebSocket.CLOSED) {
                ws.close();
                await Promise.race([closed, delay(1_000)]);
                ws.terminate();
            }
        }
    };
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            ws.terminate();
            reject(new Error(`Raw socket did not open within ${timeoutMs} ms`));
        }, timeoutMs);
        ws.once("open", () => {
            clearTimeout(timer);
            resolve(socket);
        });
        ws.once("unexpected-response", (_request, response) => {
            clearTimeout(timer);
            reject(new Error(`Upgrade refused with HTTP ${response.statusCode}`));
        });
        ws.once("close", () => {
            clearTimeout(timer);
            reject(new Error("Raw socket closed before it opened"));
        });
    });
}

/** Opens a raw socket and waits for `pusher:connection_established`; returns it with the socket id. */
export async function openEstablishedSocket(url: string): Promise<RawSocket & { socketId: string }> {
    const socket = await openRawSocket(url);
    const established = await socket.next(frame => frame.event === "pusher:connection_established");
    const socketId = (established.data as { socket_id: string }).socket_id;
    return Object.assign(socket, { socketId });
}

/** Disconnects pusher-js clients (ignoring ones already gone). */
export function disconnectAll(clients: Iterable<PusherClient>): void {
    for (const client of clients) {
        client.disconnect();
    }
}
