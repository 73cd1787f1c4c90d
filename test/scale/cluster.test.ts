/**
 * Three real server instances sharing one real `redis-server` (REDIS_URL): fan-out exactly once over every instance,
 * presence across instances, the HTTP API's channel answers through one instance, a Redis restart. The instance
 * kill is in kill.test.ts. Without redis-server these tests skip with a loud message (fail under CI=true).
 */
import PusherServer from "pusher";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, type TestServer } from "../api/helpers";
import { redisAvailable, startRedis, type RedisProcess } from "../setup/redis";
import {
    authorizeWithCursor,
    clusterEnv,
    connect,
    CREDENTIALS,
    notify,
    portOf,
    readyStatus,
    startCluster,
    uniquePrefix,
    until,
    type TestClient
} from "./helpers";

/** Time for a frame that should not come (a duplicate) to show up anyway. */
const SETTLE_MS = 400;

const available = redisAvailable("test/scale/cluster.test.ts");

describe.runIf(available)("three instances sharing one Redis", { timeout: 60_000 }, () => {
    let redis: RedisProcess;
    let servers: TestServer[];
    const clients: TestClient[] = [];

    const sdkOn = (server: TestServer): PusherServer =>
        new PusherServer({ ...CREDENTIALS, host: "127.0.0.1", port: String(portOf(server.url)), useTLS: false });
    const client = async (server: TestServer, user?: string): Promise<TestClient> => {
        const created = await connect(
            server.url,
            user === undefined ? undefined : { user_id: user, user_info: { name: user } }
        );
        clients.push(created);
        return created;
    };

    beforeAll(async () => {
        redis = await startRedis();
        servers = await startCluster(3, clusterEnv(redis.url, uniquePrefix("cluster")));
    });

    afterAll(async () => {
        for (const created of clients) {
            created.disconnect();
        }
        await Promise.all((servers ?? []).map(server => server.close()));
        await redis?.stop();
    });

    it("delivers a notify sent to any instance to every subscriber on every instance exactly once", async () => {
        const [a, b, c] = servers;
        const channel = "private-Sales.Order.fanout";
        const listeners = [await client(a), await client(b), await client(c)];
        await Promise.all(listeners.map(listener => listener.subscribe(channel)));

        await notify(b, "Sales.Order.fanout", "refresh", "from B");
        await notify(c, "Sales.Order.fanout", "refresh", "from C");

        await until(() => listeners.every(listener => listener.count(channel, "refresh") === 2), 10_000, "2 each");
        await sleep(SETTLE_MS);
        for (const listener of listeners) {
            const payloads = listener.received.get(`${channel} refresh`) as Array<{ data: string; seq: number }>;
            expect(payloads.map(payload => payload.data).sort()).toEqual(["from B", "from C"]);
        }
        // One shared position: the instances' stamps are distinct and every listener saw the same ones.
        const seqs = (listeners[0].received.get(`${channel} refresh`) as Array<{ seq: number }>).map(p => p.seq);
        expect(new Set(seqs).size).toBe(2);
    });

    it("shares presence: member_added and member_removed once per user over every instance, two tabs count once", async () => {
        const [a, b, c] = servers;
        const channel = "presence-Sales.Order.viewers";
        const alice = await client(a, "alice");
        await alice.subscribe(channel);
        const bob = await client(b, "bob");
        const bobChannel = await bob.subscribe(channel);
        expect(Object.keys((bobChannel as unknown as { members: { members: object } }).members.members).sort()).toEqual(
            ["alice", "bob"]
        );
        await until(() => alice.count(channel, "pusher:member_added") === 1, 10_000, "alice to hear bob");

        // Alice's second tab, on the third instance: nobody is told she arrived again.
        const aliceAgain = await client(c, "alice");
        const againChannel = await aliceAgain.subscribe(channel);
        expect(
            Object.keys((againChannel as unknown as { members: { members: object } }).members.members).sort()
        ).toEqual(["alice", "bob"]);
        const users = await sdkOn(a).get({ path: `/channels/${channel}/users` });
        expect(((await users.json()) as { users: Array<{ id: string }> }).users.map(u => u.id).sort()).toEqual([
            "alice",
            "bob"
        ]);

        aliceAgain.disconnect();
        await sleep(SETTLE_MS);
        expect(bob.count(channel, "pusher:member_removed")).toBe(0);
        alice.disconnect();
        await until(() => bob.count(channel, "pusher:member_removed") === 1, 10_000, "bob to hear alice leave");
        await sleep(SETTLE_MS);
        expect(bob.count(channel, "pusher:member_added")).toBe(0);
        expect(bob.count(channel, "pusher:member_removed")).toBe(1);
        expect(bob.received.get(`${channel} pusher:member_removed`)).toEqual([
            expect.objectContaining({ id: "alice" })
        ]);
    });

    it("answers /channels, /channels/<name> and /users counted over every instance, through any one", async () => {
        const [a, b, c] = servers;
        const channel = "private-Sales.Order.counted";
        const presence = "presence-Sales.Order.counted";
        for (const [server, user] of [
            [a, "ann"],
            [b, "ben"],
            [c, "cat"],
            [c, "ann"]
        ] as const) {
            const created = await client(server, user);
            await created.subscribe(channel);
            await created.subscribe(presence);
        }
        const sdk = sdkOn(b);
        const read = async (path: string, params?: object) => (await sdk.get({ path, params })).json();
        await until(
            async () => {
                const one = (await read(`/channels/${channel}`, { info: "subscription_count" })) as {
                    subscription_count: number;
                };
                return one.subscription_count === 4;
            },
            5_000,
            "4 subscriptions over the 3 instances"
        );
        expect(await read(`/channels/${presence}`, { info: "subscription_count,user_count" })).toEqual({
            occupied: true,
            subscription_count: 4,
            user_count: 3
        });
        const list = (await read("/channels", {
            filter_by_prefix: "presence-Sales.Order.counted",
            info: "user_count"
        })) as {
            channels: Record<string, { user_count: number }>;
        };
        expect(list.channels).toEqual({ [presence]: { user_count: 3 } });
        const users = (await read(`/channels/${presence}/users`)) as { users: Array<{ id: string }> };
        expect(users.users.map(user => user.id).sort()).toEqual(["ann", "ben", "cat"]);
    });

    it("shares the catch-up: a widget that comes back through another instance gets what was sent through a third", async () => {
        const [a, b, c] = servers;
        const channel = "private-Sales.Order.caught";
        const first = (await authorizeWithCursor(a.url, channel)).catchup as { epoch: string; seq: number };
        await notify(b, "Sales.Order.caught", "refresh", "missed 1");
        await notify(c, "Sales.Order.caught", "refresh", "missed 2");
        await notify(c, "Sales.Order.caught", "reload", "missed 3");
        await until(() => a.running.catchup.store.since(channel, first.seq).length === 2, 10_000, "A to know both");
        const again = (await authorizeWithCursor(a.url, channel, `${first.epoch}:${first.seq}`)).catchup as {
            epoch: string;
            missed: Array<{ actionName: string; data: string }>;
            lost?: string;
        };
        expect(again.epoch).toBe(first.epoch);
        expect(again.lost).toBeUndefined();
        expect(again.missed.map(payload => [payload.actionName, payload.data])).toEqual([
            ["refresh", "missed 2"],
            ["reload", "missed 3"]
        ]);
    });

    it("shares the rate-limit counters: the limit counts requests to every instance", async () => {
        const limited = await startCluster(2, {
            ...clusterEnv(redis.url, uniquePrefix("limits")),
            RATE_LIMIT_NOTIFY: "4"
        });
        try {
            const statuses: number[] = [];
            for (let i = 0; i < 6; i++) {
                const target = limited[i % 2];
                const response = await fetch(`${target.url}/rest/pusher/notify`, {
                    method: "POST",
                    headers: {
                        "Content-Type": "application/json",
                        Authorization: `Bearer ${target.config.notifyApiKey}`
                    },
                    body: JSON.stringify({ topic: "Sales.Order.limited", action: "refresh" })
                });
                statuses.push(response.status);
            }
            expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
        } finally {
            await Promise.all(limited.map(server => server.close()));
        }
    });

    it("reports the Redis connection in /metrics (notifylisten_redis_up)", async () => {
        const [watched] = await startCluster(1, {
            ...clusterEnv(redis.url, uniquePrefix("metrics")),
            METRICS_TOKEN: "scale-metrics-token-0123456789abcdef"
        });
        try {
            const metrics = await fetch(`${watched.url}/metrics`, {
                headers: { Authorization: "Bearer scale-metrics-token-0123456789abcdef" }
            });
            expect(metrics.status).toBe(200);
            expect(await metrics.text()).toMatch(/^notifylisten_redis_up 1$/m);
        } finally {
            await watched.close();
        }
    });

    it("keeps serving its own sockets while Redis is away, answers /readyz 503, and recovers without duplicates", async () => {
        const [a, b, c] = servers;
        const channel = "private-Sales.Order.outage";
        const listeners = [await client(a), await client(b), await client(c)];
        await Promise.all(listeners.map(listener => listener.subscribe(channel)));
        const epochBefore = a.running.catchup.store.epoch;
        expect((await readyStatus(a.url)).status).toBe(200);

        await redis.stop();
        await until(async () => (await readyStatus(a.url)).status === 503, 10_000, "A not ready");
        const notReady = await readyStatus(a.url);
        expect(notReady.body.error).toMatchObject({ code: "not_ready", details: { redis: "unreachable" } });
        expect(JSON.stringify(notReady.body)).not.toContain("scale-test-secret");

        // Local delivery goes on: A's own socket hears A's notification at once, the others later.
        await notify(a, "Sales.Order.outage", "refresh", "during the outage");
        await until(() => listeners[0].count(channel, "refresh") === 1, 10_000, "A's listener");
        expect(listeners[1].count(channel, "refresh")).toBe(0);

        await redis.start();
        await until(
            async () =>
                (await Promise.all(servers.map(server => readyStatus(server.url)))).every(r => r.status === 200),
            10_000,
            "every instance ready again"
        );
        // What waited while Redis was away reaches the other instances once.
        await until(() => listeners.every(listener => listener.count(channel, "refresh") === 1), 10_000, "1 each");
        await notify(c, "Sales.Order.outage", "refresh", "after the outage");
        await until(() => listeners.every(listener => listener.count(channel, "refresh") === 2), 10_000, "2 each");
        await sleep(SETTLE_MS);
        expect(listeners.map(listener => listener.count(channel, "refresh"))).toEqual([2, 2, 2]);

        // Redis came back empty: one new epoch for every instance, and the warnings were logged.
        await until(
            () => new Set(servers.map(server => server.running.catchup.store.epoch)).size === 1,
            5_000,
            "one epoch"
        );
        expect(a.running.catchup.store.epoch).not.toBe(epochBefore);
        expect(a.logs.some(line => line.includes("Redis connection lost"))).toBe(true);
        expect(a.logs.some(line => line.includes("Redis is reachable again"))).toBe(true);
        expect(a.logs.join("\n")).not.toContain(CREDENTIALS.secret);
    });
    it("puts presence right after a Redis outage: who left or came meanwhile is announced once", async () => {
        const [a, b, c] = servers;
        const channel = "presence-Sales.Order.outage";
        const watcher = await client(a, "wendy");
        await watcher.subscribe(channel);
        const leaving = await client(b, "lea");
        await leaving.subscribe(channel);
        await until(() => watcher.count(channel, "pusher:member_added") === 1, 10_000, "wendy to hear lea");

        await redis.stop();
        await until(async () => (await readyStatus(b.url)).status === 503, 10_000, "B not ready");
        leaving.disconnect();
        const coming = await client(c, "carl");
        await coming.subscribe(channel);
        await sleep(SETTLE_MS);
        // The instances cannot tell each other now.
        expect(watcher.count(channel, "pusher:member_removed")).toBe(0);
        expect(watcher.count(channel, "pusher:member_added")).toBe(1);

        await redis.start();
        await until(() => watcher.count(channel, "pusher:member_removed") === 1, 10_000, "wendy to hear lea leave");
        await until(() => watcher.count(channel, "pusher:member_added") === 2, 10_000, "wendy to hear carl");
        await sleep(SETTLE_MS);
        expect(watcher.received.get(`${channel} pusher:member_removed`)).toEqual([
            expect.objectContaining({ id: "lea" })
        ]);
        expect(watcher.count(channel, "pusher:member_added")).toBe(2);
        const users = await sdkOn(b).get({ path: `/channels/${channel}/users` });
        expect(((await users.json()) as { users: Array<{ id: string }> }).users.map(u => u.id).sort()).toEqual([
            "carl",
            "wendy"
        ]);
    });
});
