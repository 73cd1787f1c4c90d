/**
 * Helpers of the API tests: a real server on 127.0.0.1:0 with captured logs, a real pusher-js client
 * (Node build) subscribed through /rest/pusher/auth, and bounded waiting.
 */
import { Writable } from "node:stream";
import PusherClient from "pusher-js";
import type { Channel, ChannelAuthorizationCallback, ChannelAuthorizationHandler } from "pusher-js";

/** What a channel authorization answers (pusher-js does not export its name). */
type ChannelAuthorizationData = NonNullable<Parameters<ChannelAuthorizationCallback>[1]>;
import { createApp, type AppOptions, type RunningApp } from "../../server/app";
import { loadConfig, type Config } from "../../server/config";
import { createLogger } from "../../server/logger";

export const API_KEY = "test-notify-api-key-0123456789abcdef";
export const BEARER = { Authorization: `Bearer ${API_KEY}` };

export interface TestServer {
    running: RunningApp;
    config: Config;
    url: string;
    /** Every log line written so far (JSON strings). */
    logs: string[];
    close(): Promise<void>;
}

/** Starts the real app on 127.0.0.1:0 with `env` on top of test defaults (API key, no playground, debug logs captured). */
export async function startServer(env: NodeJS.ProcessEnv = {}, options: AppOptions = {}): Promise<TestServer> {
    const config = loadConfig({ NOTIFY_API_KEY: API_KEY, PLAYGROUND: "false", LOG_LEVEL: "debug", ...env });
    const logs: string[] = [];
    const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
            logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
            callback();
        }
    });
    const logger = createLogger(config.logLevel, sink);
    const running = await createApp(config, { logger, ...options });
    const url = await running.listen(0, "127.0.0.1");
    return { running, config, url, logs, close: () => running.close() };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body)
    });
}

export async function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(fields).toString()
    });
}

/** Parsed JSON answer; loosely typed on purpose, tests assert its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any;

/** Status and parsed JSON body. */
export async function answer(response: Response | Promise<Response>): Promise<{ status: number; body: JsonBody }> {
    const res = await response;
    const text = await res.text();
    let body: unknown = text;
    try {
        body = JSON.parse(text);
    } catch {
        // keep the text
    }
    return { status: res.status, body };
}

/** Waits until `check` returns true, polling every 10 ms, for at most `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) {
            throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 10));
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

export interface Listener {
    client: PusherClient;
    socketId: string;
    /** Subscribes and resolves once the subscription succeeded (rejects on subscription_error). */
    subscribe(channel: string): Promise<Channel>;
    disconnect(): void;
}

/**
 * pusher-js's channel authorization as a browser sends it, with a session `Cookie`: pusher-js's Node transport
 * (the xmlhttprequest package) drops a `Cookie` header, so this posts the same form with fetch.
 */
export function fetchAuthorizer(endpoint: string, headers: Record<string, string>): ChannelAuthorizationHandler {
    return (params, callback) => {
        fetch(endpoint, {
            method: "POST",
            headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ socket_id: params.socketId, channel_name: params.channelName }).toString()
        })
            .then(async response => {
                if (!response.ok) {
                    callback(new Error(`received status: ${response.status}`), null);
                    return;
                }
                callback(null, (await response.json()) as ChannelAuthorizationData);
            })
            .catch((error: Error) => callback(error, null));
    };
}

/**
 * A real pusher-js client configured from GET /rest/pusher/key, authorizing channels through
 * POST /rest/pusher/auth with the given headers (Bearer in tests: the relay path).
 */
export async function connectListener(
    url: string,
    authHeaders: Record<string, string> = BEARER,
    timeoutMs = 5000
): Promise<Listener> {
    const keyAnswer = await answer(fetch(`${url}/rest/pusher/key`));
    const { key, cluster, wsHost, wsPort, forceTLS } = keyAnswer.body as {
        key: string;
        cluster: string;
        wsHost: string;
        wsPort: number;
        forceTLS: boolean;
    };
    const client = new PusherClient(key, {
        cluster,
        wsHost,
        wsPort,
        forceTLS,
        enabledTransports: ["ws"],
        disableStats: true,
        channelAuthorization:
            authHeaders.Cookie === undefined
                ? { endpoint: `${url}/rest/pusher/auth`, transport: "ajax", headers: authHeaders }
                : { customHandler: fetchAuthorizer(`${url}/rest/pusher/auth`, authHeaders) }
    });
    try {
        await waitFor(() => client.connection.state === "connected", timeoutMs, "pusher-js to connect");
    } catch (error) {
        client.disconnect();
        throw error;
    }
    return {
        client,
        socketId: client.connection.socket_id,
        subscribe: channelName =>
            new Promise<Channel>((resolve, reject) => {
                const channel = client.subscribe(channelName);
                const timer = setTimeout(
                    () => reject(new Error(`subscription to ${channelName} timed out`)),
                    timeoutMs
                );
                channel.bind("pusher:subscription_succeeded", () => {
                    clearTimeout(timer);
                    resolve(channel);
                });
                channel.bind("pusher:subscription_error", (error: unknown) => {
                    clearTimeout(timer);
                    reject(new Error(`subscription to ${channelName} refused: ${JSON.stringify(error)}`));
                });
            }),
        disconnect: () => client.disconnect()
    };
}
