/**
 * The server (with its embedded broker) restarted under 50 connected pusher-js clients: the old instance
 * closes every socket with 4200 ("server restarting"), the new one listens on the same port with the same
 * BROKER_* credentials, every client reconnects and resubscribes by itself (authorizing again through
 * /rest/pusher/auth), and the next notifications reach every one, each exactly once, on the right channel.
 * (The soak run does the same with 200 clients and a real process restart.)
 */
import type PusherClient from "pusher-js";
import { afterAll, describe, expect, it } from "vitest";
import { BEARER, createListener, postJson, startApp, until, type AppUnderTest } from "./harness";

const CLIENTS = 50;
const clients: PusherClient[] = [];
let current: AppUnderTest | undefined;

afterAll(async () => {
    clients.forEach(client => client.disconnect());
    await current?.close();
});

describe("restart under 50 pusher-js clients", () => {
    it("all reconnect and resubscribe; the next notify reaches every one exactly once", async () => {
        const env = { RATE_LIMIT_AUTH: "100000", LOG_LEVEL: "info" };
        const first = await startApp(env);
        current = first;
        const received: Array<Array<{ channel: string; data: string }>> = Array.from({ length: CLIENTS }, () => []);
        const closeCodes: number[] = [];
        for (let i = 0; i < CLIENTS; i++) {
            const client = createListener(first, BEARER);
            clients.push(client);
            for (const name of [`private-Restart.Item.${i}`, "private-Restart.All"]) {
                client.subscribe(name).bind("refresh", (payload: { data: string }) => {
                    received[i].push({ channel: name, data: payload.data });
                });
            }
            client.connection.bind("error", (error: { error?: { data?: { code?: number } } }) => {
                const code = error.error?.data?.code;
                if (code !== undefined) closeCodes.push(code);
            });
        }
        const subscriptions = () => current?.running.broker?.stats().subscriptions ?? 0;
        await until(() => subscriptions() === 2 * CLIENTS, 15_000, "every client to subscribe");
        const socketIds = clients.map(client => client.connection.socket_id);

        // Restart: the old instance stops accepting, the new one takes over the port, the old one closes with 4200.
        first.running.server.close();
        const second = await startApp(env, { port: first.port });
        current = second;
        await first.close();
        expect(first.running.broker!.stats().connections).toBe(0);
        expect(closeCodes.filter(code => code === 4200)).toHaveLength(CLIENTS);

        await until(() => subscriptions() === 2 * CLIENTS, 15_000, "every client to resubscribe to the new instance");
        expect(clients.every(client => client.connection.state === "connected")).toBe(true);
        expect(clients.every((client, i) => client.connection.socket_id !== socketIds[i])).toBe(true);

        const all = await postJson(
            second.evidence,
            `${second.url}/rest/pusher/notify`,
            { topic: "Restart.All", action: "refresh", data: "everyone" },
            BEARER
        );
        expect(all.status).toBe(200);
        const own = await postJson(
            second.evidence,
            `${second.url}/rest/pusher/notify/batch`,
            {
                notifications: Array.from({ length: CLIENTS }, (_, i) => ({
                    topic: `Restart.Item.${i}`,
                    action: "refresh",
                    data: `own-${i}`
                }))
            },
            BEARER
        );
        expect(own.status).toBe(200);
        await until(() => received.every(events => events.length >= 2), 5_000, "every client to receive both");
        await new Promise(resolve => setTimeout(resolve, 100));
        received.forEach((events, i) => {
            expect(events).toHaveLength(2);
            expect(events).toContainEqual({ channel: "private-Restart.All", data: "everyone" });
            expect(events).toContainEqual({ channel: `private-Restart.Item.${i}`, data: `own-${i}` });
        });
        expect(second.evidence.leaks()).toEqual([]);
        expect(first.evidence.leaks()).toEqual([]);
    });
});
