/**
 * Finding 3: client events were on by default on private and presence channels: any authorized listener could
 * send up to 10 events per second per socket to every other listener of the object, which the product never
 * does. Now they are off unless BROKER_CLIENT_EVENTS=true (like Pusher's per-app setting).
 */
import type PusherClient from "pusher-js";
import { afterEach, describe, expect, it } from "vitest";
import { BEARER, createListener, startApp, until, type AppUnderTest } from "../reliability/harness";

const CHANNEL = "private-Sales.Order.281474976710657";

let app: AppUnderTest | undefined;
const clients: PusherClient[] = [];

afterEach(async () => {
    clients.splice(0).forEach(client => client.disconnect());
    await app?.close();
    app = undefined;
});

interface Listener {
    client: PusherClient;
    events: Array<{ event: string; data: unknown }>;
    errors: Array<{ code?: number; message?: string }>;
}

/** A real pusher-js listener authorized through /rest/pusher/auth, subscribed to CHANNEL. */
async function listener(target: AppUnderTest): Promise<Listener> {
    const client = createListener(target, BEARER);
    clients.push(client);
    const events: Listener["events"] = [];
    const errors: Listener["errors"] = [];
    client.connection.bind("error", (error: { data?: { code?: number; message?: string } }) => {
        errors.push(error.data ?? {});
    });
    await new Promise<void>((resolve, reject) => {
        const channel = client.subscribe(CHANNEL);
        channel.bind("pusher:subscription_succeeded", () => resolve());
        channel.bind("pusher:subscription_error", (error: unknown) => reject(new Error(JSON.stringify(error))));
        channel.bind_global((event: string, data: unknown) => {
            if (!event.startsWith("pusher:")) events.push({ event, data });
        });
    });
    return { client, events, errors };
}

/** A notification through the API, awaited at `who`: frames sent before it have arrived. */
async function settle(target: AppUnderTest, who: Listener): Promise<void> {
    const response = await fetch(`${target.url}/rest/pusher/notify`, {
        method: "POST",
        headers: { ...BEARER, "Content-Type": "application/json" },
        body: JSON.stringify({ topic: CHANNEL.slice("private-".length), action: "marker" })
    });
    expect(response.status).toBe(200);
    await until(() => who.events.some(e => e.event === "marker"), 5_000, "the marker");
}

describe("finding 3: client events", () => {
    it("are refused by default: an authorized listener cannot make the other listeners' pages act", async () => {
        app = await startApp();
        const attacker = await listener(app);
        const victim = await listener(app);
        for (let i = 0; i < 10; i++) {
            attacker.client.channel(CHANNEL).trigger("client-approveOrder", { sender: "admin", n: i });
        }
        await until(() => attacker.errors.length >= 10, 5_000, "the refusals");
        expect(attacker.errors[0]).toMatchObject({
            code: 4303,
            message: "Client events are not enabled on this server"
        });
        await settle(app, victim);
        expect(victim.events.map(e => e.event)).toEqual(["marker"]);
        expect(attacker.client.connection.state).toBe("connected");
        expect(app.running.broker!.capacity().clientEvents).toBe(false);
    });

    it("BROKER_CLIENT_EVENTS=true opts in (Pusher's rules: private channels, 10 per second)", async () => {
        app = await startApp({ BROKER_CLIENT_EVENTS: "true" });
        const sender = await listener(app);
        const receiver = await listener(app);
        sender.client.channel(CHANNEL).trigger("client-typing", { n: 1 });
        await until(() => receiver.events.some(e => e.event === "client-typing"), 5_000, "the client event");
        expect(receiver.events.find(e => e.event === "client-typing")?.data).toEqual({ n: 1 });
        expect(sender.errors).toEqual([]);
    });
});
