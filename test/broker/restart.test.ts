/**
 * `broker.close()` closes every socket with 4200 ("server restarting"); pusher-js reconnects by itself once a
 * broker listens again on the same port, resubscribes, and receives notifications again.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
    type BrokerServer,
    connectClient,
    nextEvent,
    openRawSocket,
    type PusherClient,
    startBrokerServer,
    subscribe,
    waitFor
} from "./helpers";

const cleanup: Array<() => Promise<void> | void> = [];

afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) {
        await step();
    }
});

describe("restart", () => {
    it("closes sockets with 4200 and pusher-js reconnects and resubscribes after a restart on the same port", async () => {
        const first = await startBrokerServer();
        cleanup.push(() => first.close());
        const client: PusherClient = await connectClient(first);
        cleanup.push(() => client.disconnect());
        const channel = await subscribe(client, "private-restart");
        const firstSocketId = client.connection.socket_id;

        const closeCodes: number[] = [];
        client.connection.bind("error", (error: { error?: { data?: { code?: number } } }) => {
            const code = error.error?.data?.code;
            if (code !== undefined) {
                closeCodes.push(code);
            }
        });
        // Hand-over restart: the old listener stops accepting, the new broker listens on the same port, then
        // the old broker closes its sockets. (pusher-js reconnects at once on 4200; had that first attempt
        // failed, it would wait for its 15 s transport timeout before the next one.)
        first.server.close();
        const second: BrokerServer = await startBrokerServer({
            port: first.port,
            appId: first.appId,
            key: first.key,
            secret: first.secret
        });
        cleanup.push(() => second.close());
        await first.broker.close();
        await expect(first.broker.close()).resolves.toBeUndefined();
        expect(first.broker.stats()).toMatchObject({ connections: 0, channels: 0, subscriptions: 0 });
        expect(closeCodes).toContain(4200);

        await waitFor(
            () => client.connection.state === "connected" && client.connection.socket_id !== firstSocketId,
            5_000
        );
        await waitFor(() => second.broker.stats().subscriptions === 1, 3_000);

        const received = nextEvent(channel, "after-restart");
        await second.sdk().trigger("private-restart", "after-restart", { back: true });
        expect(await received).toEqual({ back: true });
    });

    it("refuses upgrades after close() with HTTP 503 while the http server still runs", async () => {
        const server = await startBrokerServer();
        cleanup.push(() => server.close());
        await server.broker.close();
        await expect(openRawSocket(server.wsUrl)).rejects.toThrow(/HTTP 503/);
    });
});
