/**
 * An instance killed (SIGKILL, a real process) in a cluster on a real `redis-server`: its pages reconnect through
 * the load balancer to another instance and catch up on what was sent meanwhile; its presence members are removed
 * once its heartbeat expires (one `member_removed`), and the HTTP API no longer counts its sockets. Redis
 * unreachable at start: a clear error naming REDIS_URL, password masked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, Socket, type Server } from "node:net";
import PusherServer from "pusher";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, type TestServer } from "../api/helpers";
import { freePort, redisAvailable, startRedis, type RedisProcess } from "../setup/redis";
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
import { API_KEY } from "../api/helpers";

const available = redisAvailable("test/scale/kill.test.ts");

/** A TCP load balancer on 127.0.0.1 that sends new connections to `target` (changed when an instance dies). */
async function startBalancer(target: number): Promise<{ port: number; target: number; close(): Promise<void> }> {
    const sockets = new Set<Socket>();
    const state = { target };
    const server: Server = createServer(downstream => {
        const upstream = new Socket();
        sockets.add(downstream).add(upstream);
        upstream.connect(state.target, "127.0.0.1");
        downstream.pipe(upstream).pipe(downstream);
        const end = (): void => {
            downstream.destroy();
            upstream.destroy();
            sockets.delete(downstream);
            sockets.delete(upstream);
        };
        downstream.on("error", end).on("close", end);
        upstream.on("error", end).on("close", end);
    });
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    return {
        port,
        get target() {
            return state.target;
        },
        set target(value: number) {
            state.target = value;
        },
        close: () =>
            new Promise(resolve => {
                for (const socket of sockets) {
                    socket.destroy();
                }
                server.close(() => resolve());
            })
    };
}

/** The server as its own process (`tsx server/main.ts`), killable with SIGKILL. */
async function startProcess(
    env: NodeJS.ProcessEnv
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
        env: {
            ...process.env,
            NODE_ENV: "test",
            NOTIFY_API_KEY: API_KEY,
            PLAYGROUND: "false",
            LOG_FORMAT: "json",
            HOST: "127.0.0.1",
            PORT: String(port),
            ...env
        },
        stdio: ["ignore", "pipe", "pipe"]
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const url = `http://127.0.0.1:${port}`;
    await until(
        async () => {
            if (child.exitCode !== null) {
                throw new Error(`the instance exited with ${child.exitCode}:\n${output}`);
            }
            return (await readyStatus(url).catch(() => ({ status: 0 }))).status === 200;
        },
        15_000,
        "the instance process to be ready"
    );
    return { child, url, output: () => output };
}

describe.runIf(available)("an instance killed in a cluster on Redis", () => {
    let redis: RedisProcess;
    let servers: TestServer[];
    const clients: TestClient[] = [];

    beforeAll(async () => {
        redis = await startRedis();
    });

    afterAll(async () => {
        for (const created of clients) {
            created.disconnect();
        }
        await Promise.all((servers ?? []).map(server => server.close()));
        await redis?.stop();
    });

    it("moves its pages to another instance, which catches them up, and removes its presence members once", async () => {
        const env = clusterEnv(redis.url, uniquePrefix("kill"));
        servers = await startCluster(2, env);
        const [a, b] = servers;
        const doomed = await startProcess(env);
        const balancer = await startBalancer(portOf(doomed.url));
        try {
            const channel = "private-Sales.Order.moved";
            const presence = "presence-Sales.Order.moved";
            const watcher = await connect(b.url, { user_id: "bob" });
            clients.push(watcher);
            await watcher.subscribe(presence);
            const page = await connect(balancer.port, { user_id: "dave" });
            clients.push(page);
            await page.subscribe(channel);
            await page.subscribe(presence);
            // Erin is connected to the doomed instance itself, not through the balancer: she does not come back.
            const erin = await connect(doomed.url, { user_id: "erin" });
            clients.push(erin);
            await erin.subscribe(presence);
            await until(
                () => watcher.count(presence, "pusher:member_added") === 2,
                10_000,
                "bob to hear dave and erin"
            );

            await notify(a, "Sales.Order.moved", "refresh", "before");
            await until(() => page.count(channel, "refresh") === 1, 10_000, "the page to hear it");
            const seen = (page.received.get(`${channel} refresh`) as Array<{ epoch: string; seq: number }>)[0];

            // The instance dies; the load balancer sends new connections to A.
            const oldSocketId = page.client.connection.socket_id;
            balancer.target = portOf(a.url);
            doomed.child.kill("SIGKILL");
            await notify(b, "Sales.Order.moved", "refresh", "while moving");
            // pusher-js reconnects through the balancer (a new socket id) and subscribes again, on A.
            await until(
                () => page.client.connection.state === "connected" && page.client.connection.socket_id !== oldSocketId,
                15_000,
                "the page to reconnect"
            );
            await until(() => page.client.channel(channel)?.subscribed === true, 10_000, "the page to resubscribe");
            // The widget's catch-up through the new instance: what was sent through B while it moved.
            const caught = (
                await authorizeWithCursor(`http://127.0.0.1:${balancer.port}`, channel, `${seen.epoch}:${seen.seq}`)
            ).catchup as {
                missed: Array<{ data: string }>;
                lost?: string;
            };
            expect(caught.lost).toBeUndefined();
            expect(caught.missed.map(payload => payload.data)).toEqual(["while moving"]);
            await notify(b, "Sales.Order.moved", "refresh", "after");
            await until(() => page.count(channel, "refresh") === 2, 10_000, "the page to hear the next one");

            // The dead instance is buried once its heartbeat expires: bob hears erin leave, once; dave stays (his
            // new socket on A holds him).
            await until(
                () => watcher.count(presence, "pusher:member_removed") >= 1,
                15_000,
                "the dead instance to be buried"
            );
            await sleep(500);
            expect(watcher.received.get(`${presence} pusher:member_removed`)).toEqual([
                expect.objectContaining({ id: "erin" })
            ]);
            const sdk = new PusherServer({
                ...CREDENTIALS,
                host: "127.0.0.1",
                port: String(portOf(a.url)),
                useTLS: false
            });
            await until(
                async () => {
                    const info = (await (
                        await sdk.get({ path: `/channels/${channel}`, params: { info: "subscription_count" } })
                    ).json()) as {
                        subscription_count: number;
                    };
                    return info.subscription_count === 1;
                },
                5_000,
                "only the page's new socket to be counted"
            );
            const users = (await (await sdk.get({ path: `/channels/${presence}/users` })).json()) as {
                users: Array<{ id: string }>;
            };
            expect(users.users.map(user => user.id).sort()).toEqual(["bob", "dave"]);
        } finally {
            doomed.child.kill("SIGKILL");
            await balancer.close();
        }
    }, 60_000);

    it("refuses to start when Redis cannot be reached, naming REDIS_URL with the password masked", async () => {
        const port = await freePort();
        const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
            env: {
                ...process.env,
                NODE_ENV: "test",
                PLAYGROUND: "false",
                LOG_FORMAT: "json",
                HOST: "127.0.0.1",
                PORT: String(await freePort()),
                ...clusterEnv(`redis://:hunter2-secret@127.0.0.1:${port}`, uniquePrefix("down"))
            },
            stdio: ["ignore", "pipe", "pipe"]
        });
        let output = "";
        child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
        child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
        const code = await new Promise<number | null>(resolve => child.once("exit", resolve));
        expect(code).toBe(1);
        expect(output).toContain(`Cannot reach Redis at redis://:***@127.0.0.1:${port} (REDIS_URL) within 10 s`);
        expect(output).toContain("REDIS_URL");
        expect(output).not.toContain("hunter2-secret");
    }, 30_000);
});
