/**
 * Several companion server instances in PUSHER_HOST mode (a Pusher-compatible host does the delivery) sharing one
 * real `redis-server`: the catch-up state is shared (a widget that comes back through another instance learns what
 * one instance triggered). Skips loudly without redis-server, fails under CI=true.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StampedPayload } from "../../protocol";
import { startFakePusher, type FakePusher } from "../api/fake-pusher";
import { type TestServer } from "../api/helpers";
import { redisAvailable, startRedis, type RedisProcess } from "../setup/redis";
import { authorizeWithCursor, notify, startCluster, uniquePrefix } from "./helpers";

const available = redisAvailable("test/scale/pusher-host.test.ts");

describe.runIf(available)("two instances in PUSHER_HOST mode sharing one Redis", () => {
    let redis: RedisProcess;
    let fake: FakePusher;
    let servers: TestServer[];

    beforeAll(async () => {
        redis = await startRedis();
        fake = await startFakePusher();
        servers = await startCluster(2, {
            ...fake.env,
            REDIS_URL: redis.url,
            REDIS_KEY_PREFIX: uniquePrefix("pusher-host")
        });
    });

    afterAll(async () => {
        await Promise.all((servers ?? []).map(server => server.close()));
        await fake?.close();
        await redis?.stop();
    });

    it("shares one epoch and the kept notifications: the other instance hands out what one triggered", async () => {
        const [a, b] = servers;
        expect(a.running.cluster.kind).toBe("redis");
        expect(a.running.catchup.store.epoch).toBe(b.running.catchup.store.epoch);
        const channel = "private-Sales.Order.hosted";
        const start = (await authorizeWithCursor(b.url, channel)).catchup as { epoch: string; seq: number };
        await notify(a, "Sales.Order.hosted", "refresh", "through A");
        const sent = JSON.parse((fake.calls.at(-1)!.body as { data: string }).data) as StampedPayload;
        expect(sent).toMatchObject({ data: "through A", epoch: start.epoch, seq: expect.any(Number) });
        expect(sent.seq).toBeGreaterThan(start.seq);

        const deadline = Date.now() + 10_000;
        let missed: StampedPayload[] = [];
        while (missed.length === 0 && Date.now() < deadline) {
            missed = (await authorizeWithCursor(b.url, channel, `${start.epoch}:${start.seq}`)).catchup.missed;
            await new Promise(resolve => setTimeout(resolve, 20));
        }
        expect(missed).toEqual([sent]);
    });
});
