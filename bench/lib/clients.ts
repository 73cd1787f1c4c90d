/**
 * The three kinds of subscribers the bench opens, always in the driver process (the servers run in
 * child processes):
 * - real `pusher-js` clients (Node build) that authorize through `POST /rest/pusher/auth`;
 * - raw `ws` sockets speaking Pusher protocol 7 to the embedded broker (subscribe with a signature
 *   from `/rest/pusher/auth`), for throughput runs where client cost must equal the baseline's;
 * - bare `ws` sockets on the baseline server (`/?channel=<name>&channel=...`).
 * Opening is bounded: limited concurrency and a timeout per socket.
 */
import PusherClient, { type Channel, type ChannelAuthorizationHandler } from "pusher-js";
import { WebSocket } from "ws";
import type { HttpClient } from "./http";

export const OPEN_TIMEOUT_MS = 15_000;

export interface ClientConfig {
    key: string;
    cluster: string;
    wsHost: string;
    wsPort: number;
    forceTLS: boolean;
}

/** Runs `fn` over `count` indexes with at most `limit` at once. */
export async function forEachLimited(
    count: number,
    limit: number,
    fn: (index: number) => Promise<void>
): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < count) {
            await fn(next++);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
        promise,
        new Promise<T>((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
        })
    ]).finally(() => clearTimeout(timer));
}

/** `GET /rest/pusher/key`: what a browser would connect with. */
export async function fetchClientConfig(http: HttpClient): Promise<ClientConfig> {
    const answer = await http.get("/rest/pusher/key");
    if (answer.status !== 200) {
        throw new Error(`GET /rest/pusher/key answered ${answer.status}: ${answer.body}`);
    }
    return JSON.parse(answer.body) as ClientConfig;
}

/** Signs a subscription through the server's auth endpoint (the relay path, Bearer API key). */
export async function authorize(http: HttpClient, apiKey: string, socketId: string, channel: string): Promise<string> {
    const answer = await http.postForm(
        "/rest/pusher/auth",
        { socket_id: socketId, channel_name: channel },
        { Authorization: `Bearer ${apiKey}` }
    );
    if (answer.status !== 200) {
        throw new Error(`POST /rest/pusher/auth answered ${answer.status}: ${answer.body}`);
    }
    return (JSON.parse(answer.body) as { auth: string }).auth;
}

export interface PusherPool {
    clients: PusherClient[];
    channels: Channel[];
    close(): void;
}

/** Opens `count` pusher-js clients, client i subscribed to `channelOf(i)`. */
export async function openPusherClients(options: {
    http: HttpClient;
    apiKey: string;
    count: number;
    channelOf: (index: number) => string;
    concurrency?: number;
}): Promise<PusherPool> {
    const config = await fetchClientConfig(options.http);
    const clients: PusherClient[] = [];
    const channels: Channel[] = [];
    const handler: ChannelAuthorizationHandler = (params, callback) => {
        authorize(options.http, options.apiKey, params.socketId, params.channelName).then(
            auth => callback(null, { auth }),
            (error: Error) => callback(error, null)
        );
    };
    const pool: PusherPool = {
        clients,
        channels,
        close: () => clients.forEach(client => client.disconnect())
    };
    try {
        await forEachLimited(options.count, options.concurrency ?? 50, async index => {
            const client = new PusherClient(config.key, {
                cluster: config.cluster,
                wsHost: config.wsHost,
                wsPort: config.wsPort,
                forceTLS: config.forceTLS,
                enabledTransports: ["ws"],
                disableStats: true,
                channelAuthorization: { customHandler: handler }
            });
            clients.push(client);
            const name = options.channelOf(index);
            const channel = await withTimeout(
                new Promise<Channel>((resolve, reject) => {
                    const subscribed = client.subscribe(name);
                    subscribed.bind("pusher:subscription_succeeded", () => resolve(subscribed));
                    subscribed.bind("pusher:subscription_error", (error: unknown) =>
                        reject(new Error(`subscription to ${name} refused: ${JSON.stringify(error)}`))
                    );
                }),
                OPEN_TIMEOUT_MS,
                `pusher-js client ${index} subscribing to ${name}`
            );
            channels[index] = channel;
        });
    } catch (error) {
        pool.close();
        throw error;
    }
    return pool;
}

/** Raw sockets whose every text frame goes to one swappable handler. */
export interface RawPool {
    sockets: WebSocket[];
    /** Called with (socket index, frame text) for every frame received from now on. */
    onFrame(handler: (index: number, text: string) => void): void;
    close(): void;
}

function rawPool(): RawPool & { dispatch(index: number, text: string): void } {
    let handler: (index: number, text: string) => void = () => undefined;
    const sockets: WebSocket[] = [];
    return {
        sockets,
        onFrame: next => {
            handler = next;
        },
        dispatch: (index, text) => handler(index, text),
        close: () => sockets.forEach(ws => ws.terminate())
    };
}

/** Opens a socket and resolves with its first text frame. */
function openSocket(url: string, sockets: WebSocket[]): Promise<{ ws: WebSocket; first: string }> {
    return withTimeout(
        new Promise((resolve, reject) => {
            const ws = new WebSocket(url, { perMessageDeflate: false });
            sockets.push(ws);
            ws.on("error", reject);
            ws.once("message", (data: Buffer) => resolve({ ws, first: data.toString("utf8") }));
            ws.once("close", code => reject(new Error(`socket closed with ${code} while opening`)));
        }),
        OPEN_TIMEOUT_MS,
        `socket to ${url}`
    );
}

/** Raw `ws` sockets speaking Pusher protocol 7 to the embedded broker, socket i subscribed to `channelsOf(i)`. */
export async function openRawPusherSockets(options: {
    http: HttpClient;
    apiKey: string;
    count: number;
    channelsOf: (index: number) => string[];
    concurrency?: number;
}): Promise<RawPool> {
    const config = await fetchClientConfig(options.http);
    const url = `ws://${config.wsHost}:${config.wsPort}/app/${config.key}?protocol=7&client=bench&version=1`;
    const pool = rawPool();
    try {
        await forEachLimited(options.count, options.concurrency ?? 50, async index => {
            const { ws, first } = await openSocket(url, pool.sockets);
            const established = JSON.parse(first) as { event: string; data: string };
            if (established.event !== "pusher:connection_established") {
                throw new Error(`unexpected first frame ${first}`);
            }
            const socketId = (JSON.parse(established.data) as { socket_id: string }).socket_id;
            for (const channel of options.channelsOf(index)) {
                const auth = await authorize(options.http, options.apiKey, socketId, channel);
                const subscribed = withTimeout(
                    new Promise<void>((resolve, reject) => {
                        ws.once("message", (data: Buffer) => {
                            const text = data.toString("utf8");
                            if (text.includes("pusher_internal:subscription_succeeded")) {
                                resolve();
                            } else {
                                reject(new Error(`subscription to ${channel} failed: ${text}`));
                            }
                        });
                    }),
                    OPEN_TIMEOUT_MS,
                    `raw subscription to ${channel}`
                );
                ws.send(JSON.stringify({ event: "pusher:subscribe", data: { channel, auth } }));
                await subscribed;
            }
            ws.on("message", (data: Buffer) => {
                const text = data.toString("utf8");
                if (text.startsWith('{"event":"pusher:ping"')) {
                    ws.send('{"event":"pusher:pong","data":{}}');
                    return;
                }
                pool.dispatch(index, text);
            });
        });
    } catch (error) {
        pool.close();
        throw error;
    }
    return pool;
}

/** Bare `ws` sockets on the baseline server, socket i on `channelsOf(i)`. */
export async function openBaselineSockets(options: {
    url: string;
    count: number;
    channelsOf: (index: number) => string[];
    concurrency?: number;
}): Promise<RawPool> {
    const base = options.url.replace(/^http/, "ws");
    const pool = rawPool();
    try {
        await forEachLimited(options.count, options.concurrency ?? 50, async index => {
            const query = options
                .channelsOf(index)
                .map(channel => `channel=${encodeURIComponent(channel)}`)
                .join("&");
            const { ws } = await openSocket(`${base}/?${query}`, pool.sockets);
            ws.on("message", (data: Buffer) => pool.dispatch(index, data.toString("utf8")));
        });
    } catch (error) {
        pool.close();
        throw error;
    }
    return pool;
}
