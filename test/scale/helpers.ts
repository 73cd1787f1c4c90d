/**
 * Helpers of the scale-out tests: several real server instances sharing one real Redis (REDIS_URL), with the same
 * broker credentials, pusher-js clients on a chosen instance, and notify / auth calls to a chosen instance.
 */
import { randomBytes } from "node:crypto";
import type { Channel } from "pusher-js";
import { channelAuthToken } from "../../server/broker/signature";
import { answer, BEARER, postForm, postJson, startServer, type JsonBody, type TestServer } from "../api/helpers";
import { createClient, type PusherClient, waitForState } from "../broker/helpers";

export const CREDENTIALS = { appId: "424242", key: "scale-test-key", secret: "scale-test-secret-0123456789" };

/** The environment of one instance of a cluster on `redisUrl` (a key prefix per test file keeps files apart). */
export function clusterEnv(redisUrl: string, keyPrefix: string): NodeJS.ProcessEnv {
    return {
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        BROKER_APP_ID: CREDENTIALS.appId,
        BROKER_KEY: CREDENTIALS.key,
        BROKER_SECRET: CREDENTIALS.secret,
        LOG_LEVEL: "info"
    };
}

export function uniquePrefix(name: string): string {
    return `nltest:${name}:${randomBytes(3).toString("hex")}:`;
}

/** Starts `count` instances of one cluster. */
export async function startCluster(count: number, env: NodeJS.ProcessEnv): Promise<TestServer[]> {
    const servers: TestServer[] = [];
    for (let i = 0; i < count; i++) {
        servers.push(await startServer(env));
    }
    return servers;
}

export function portOf(url: string): number {
    return Number(new URL(url).port);
}

export interface TestClient {
    client: PusherClient;
    /** Events received, by channel and event name: `${channel} ${event}` -> data. */
    received: Map<string, unknown[]>;
    subscribe(channel: string): Promise<Channel>;
    count(channel: string, event: string): number;
    disconnect(): void;
}

/** A pusher-js client on the instance at `url` (or any port, e.g. a load balancer), signing its own subscriptions. */
export async function connect(
    target: string | number,
    presenceUser?: { user_id: string; user_info?: unknown }
): Promise<TestClient> {
    const port = typeof target === "number" ? target : portOf(target);
    const client = createClient({ port, ...CREDENTIALS }, { presenceUser });
    await waitForState(client, "connected");
    const received = new Map<string, unknown[]>();
    const record = (channel: string) => (event: string, data: unknown) => {
        const key = `${channel} ${event}`;
        received.set(key, [...(received.get(key) ?? []), data]);
    };
    return {
        client,
        received,
        subscribe: channelName =>
            new Promise((resolve, reject) => {
                const channel = client.subscribe(channelName);
                channel.bind_global(record(channelName));
                const timer = setTimeout(() => reject(new Error(`subscribing ${channelName} timed out`)), 5_000);
                channel.bind("pusher:subscription_succeeded", () => {
                    clearTimeout(timer);
                    resolve(channel);
                });
                channel.bind("pusher:subscription_error", (error: unknown) => {
                    clearTimeout(timer);
                    reject(new Error(`subscribing ${channelName} refused: ${JSON.stringify(error)}`));
                });
            }),
        count: (channel, event) => received.get(`${channel} ${event}`)?.length ?? 0,
        disconnect: () => client.disconnect()
    };
}

/** POST /rest/pusher/notify on one instance; the answer must be 200. */
export async function notify(server: TestServer | string, topic: string, action: string, data?: string): Promise<void> {
    const url = typeof server === "string" ? server : server.url;
    const result = await answer(postJson(`${url}/rest/pusher/notify`, { topic, action, data }, BEARER));
    if (result.status !== 200) {
        throw new Error(`notify on ${url} answered ${result.status}: ${JSON.stringify(result.body)}`);
    }
}

/** The relay's authorization (Bearer) with a catch-up cursor, on one instance. */
export async function authorizeWithCursor(url: string, channel: string, cursor?: string): Promise<JsonBody> {
    const fields: Record<string, string> = { socket_id: "1234.5678", channel_name: channel };
    if (cursor !== undefined) {
        fields.catchup = cursor;
    }
    const result = await answer(postForm(`${url}/rest/pusher/auth`, fields, BEARER));
    if (result.status !== 200) {
        throw new Error(`auth on ${url} answered ${result.status}: ${JSON.stringify(result.body)}`);
    }
    return result.body;
}

export async function readyStatus(url: string): Promise<{ status: number; body: JsonBody }> {
    return answer(fetch(`${url}/readyz`));
}

export { channelAuthToken };

/** Waits until `check` (sync or async) is true, polling every 20 ms, for at most `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) {
            throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 20));
    }
}
