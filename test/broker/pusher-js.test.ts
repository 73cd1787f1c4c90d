/**
 * Conformance of the embedded broker with the unmodified pusher-js 8 client (Node build) and the unmodified
 * `pusher` SDK 5: connect, subscribe, notify, exclusion, unsubscribe, refusals, presence, client events.
 */
import { channelAuthToken } from "../../server/broker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
    type BrokerServer,
    collectEvents,
    connectClient,
    createClient,
    delay,
    nextEvent,
    type PusherClient,
    startBrokerServer,
    subscribe,
    subscriptionError,
    waitFor,
    waitForState
} from "./helpers";

let broker: BrokerServer;
const clients: PusherClient[] = [];

async function client(options: Parameters<typeof connectClient>[1] = {}): Promise<PusherClient> {
    const connected = await connectClient(broker, options);
    clients.push(connected);
    return connected;
}

beforeAll(async () => {
    // A Pusher conformance suite: public channels and client events are opt-in features (off by default, see
    // test/security/), switched on here to check they behave as Pusher's do.
    broker = await startBrokerServer({ publicChannels: true, clientEvents: true });
});

afterEach(async () => {
    for (const connected of clients.splice(0)) {
        connected.disconnect();
    }
    await waitFor(() => broker.broker.stats().connections === 0, 3_000);
});

afterAll(async () => {
    await broker.close();
});

const payload = {
    entity: "Sales.Order",
    guid: "281474976710657",
    changedDate: "2026-11-24T10:00:00.000Z",
    sender: "john",
    data: 'ünïcödé "quoted" 🚀'
};

describe("connection", () => {
    it("connects and gets a socket id of the form <int>.<int>", async () => {
        const pusher = await client();
        expect(pusher.connection.state).toBe("connected");
        expect(pusher.connection.socket_id).toMatch(/^\d+\.\d+$/);
        const other = await client();
        expect(other.connection.socket_id).not.toBe(pusher.connection.socket_id);
        expect(broker.broker.stats().connections).toBe(2);
    });

    it("refuses an unknown app key with 4001 and pusher-js gives up (no reconnect)", async () => {
        const pusher = createClient(broker, { key: "not-the-key" });
        clients.push(pusher);
        const errors: unknown[] = [];
        pusher.connection.bind("error", (error: unknown) => errors.push(error));
        await waitForState(pusher, "disconnected", 5_000);
        expect(errors).toContainEqual(
            expect.objectContaining({
                type: "WebSocketError",
                error: expect.objectContaining({ data: expect.objectContaining({ code: 4001 }) })
            })
        );
        await delay(300);
        expect(pusher.connection.state).toBe("disconnected");
        expect(broker.broker.stats().connections).toBe(0);
    });
});

describe("subscriptions and notifications", () => {
    it("accepts a private subscription with a good signature and delivers an SDK trigger with the exact payload", async () => {
        const pusher = await client();
        const channel = await subscribe(pusher, "private-Sales.Order.281474976710657");
        const received = nextEvent(channel, "refresh");
        await broker.sdk().trigger("private-Sales.Order.281474976710657", "refresh", payload);
        expect(await received).toEqual(payload);
    });

    it("refuses a private subscription signed with the wrong secret (pusher:subscription_error on the channel)", async () => {
        const pusher = await client({ secret: "wrong-secret" });
        const error = await subscriptionError(pusher, "private-Sales.Order.1");
        expect(error).toEqual(expect.objectContaining({ type: "AuthError", status: 401 }));
        expect((error as { error: string }).error).toMatch(/Invalid signature/);
        expect(broker.broker.stats().subscriptions).toBe(0);
        expect(pusher.connection.state).toBe("connected");
    });

    it("refuses a private subscription signed for another socket id", async () => {
        const pusher = await client({
            authorize: (params, callback) =>
                callback(null, { auth: channelAuthToken(broker.key, broker.secret, "1.1", params.channelName) })
        });
        const error = await subscriptionError(pusher, "private-x");
        expect(error).toEqual(expect.objectContaining({ type: "AuthError", status: 401 }));
    });

    it("refuses a badly named channel and keeps serving the connection", async () => {
        const pusher = await client();
        const tooLong = await subscriptionError(pusher, "private-" + "a".repeat(160));
        expect(tooLong).toEqual(expect.objectContaining({ type: "InvalidChannel", status: 400 }));
        expect((tooLong as { error: string }).error).toMatch(/at most 164/);
        const badChars = await subscriptionError(pusher, "bad channel!");
        expect(badChars).toEqual(expect.objectContaining({ type: "InvalidChannel", status: 400 }));
        const channel = await subscribe(pusher, "public-ok");
        const received = nextEvent(channel, "ping-event");
        await broker.sdk().trigger("public-ok", "ping-event", { ok: true });
        expect(await received).toEqual({ ok: true });
    });

    it("allows public channels without auth", async () => {
        const pusher = await client({
            authorize: (_params, callback) => callback(new Error("must not be asked"), null)
        });
        const channel = await subscribe(pusher, "news");
        const received = nextEvent(channel, "headline");
        expect(broker.broker.publish(["news"], "headline", JSON.stringify({ title: "hi" }))).toBe(1);
        expect(await received).toEqual({ title: "hi" });
    });

    it("delivers triggerBatch events to the right channels", async () => {
        const pusher = await client();
        const a = await subscribe(pusher, "private-batch-a");
        const b = await subscribe(pusher, "private-batch-b");
        const gotA = nextEvent(a, "changed");
        const gotB = nextEvent(b, "deleted");
        await broker.sdk().triggerBatch([
            { channel: "private-batch-a", name: "changed", data: { n: 1 } },
            { channel: "private-batch-b", name: "deleted", data: { n: 2 } }
        ]);
        expect(await gotA).toEqual({ n: 1 });
        expect(await gotB).toEqual({ n: 2 });
    });

    it("excludes the socket given as socket_id and delivers to the others", async () => {
        const sender = await client();
        const listener = await client();
        const senderChannel = await subscribe(sender, "private-exclusion");
        const listenerChannel = await subscribe(listener, "private-exclusion");
        const senderEvents = collectEvents(senderChannel, "saved");
        const received = nextEvent(listenerChannel, "saved");
        await broker.sdk().trigger(
            "private-exclusion",
            "saved",
            { by: "sender" },
            {
                socket_id: sender.connection.socket_id
            }
        );
        expect(await received).toEqual({ by: "sender" });
        // A second event that both receive proves ordering: the excluded one would have arrived first.
        const both = Promise.all([nextEvent(senderChannel, "after"), nextEvent(listenerChannel, "after")]);
        await broker.sdk().trigger("private-exclusion", "after", {});
        await both;
        expect(senderEvents.events).toEqual([]);
    });

    it("delivers to several channels in one trigger", async () => {
        const pusher = await client();
        const one = await subscribe(pusher, "private-multi-1");
        const two = await subscribe(pusher, "private-multi-2");
        const both = Promise.all([nextEvent(one, "multi"), nextEvent(two, "multi")]);
        await broker.sdk().trigger(["private-multi-1", "private-multi-2", "private-nobody"], "multi", { x: 1 });
        expect(await both).toEqual([{ x: 1 }, { x: 1 }]);
    });

    it("stops delivery after unsubscribe and treats a second subscribe as idempotent", async () => {
        const pusher = await client();
        const channel = await subscribe(pusher, "private-unsub");
        pusher.send_event("pusher:subscribe", { channel: "news-idem" });
        pusher.send_event("pusher:subscribe", { channel: "news-idem" });
        await waitFor(() => broker.broker.stats().subscriptions === 2);
        expect(broker.broker.stats().channels).toBe(2);
        const events = collectEvents(channel, "late");
        pusher.unsubscribe("private-unsub");
        await waitFor(() => broker.broker.stats().subscriptions === 1);
        expect(broker.broker.publish(["private-unsub"], "late", "{}")).toBe(0);
        await broker.sdk().trigger("private-unsub", "late", {});
        await delay(100);
        expect(events.events).toEqual([]);
    });

    it("leaves no subscriptions or channels behind once every client disconnected", async () => {
        const first = await client();
        const second = await client();
        await subscribe(first, "private-leak-1");
        await subscribe(first, "private-leak-2");
        await subscribe(second, "private-leak-1");
        await subscribe(second, "presence-leak");
        expect(broker.broker.stats()).toMatchObject({ connections: 2, channels: 3, subscriptions: 4 });
        first.disconnect();
        second.disconnect();
        await waitFor(() => broker.broker.stats().connections === 0);
        expect(broker.broker.stats()).toMatchObject({ connections: 0, channels: 0, subscriptions: 0 });
    });
});

describe("limits and refusals on an established connection", () => {
    it("refuses an oversize message with pusher:error and keeps serving", async () => {
        const pusher = await client();
        const channel = await subscribe(pusher, "private-big");
        const error = nextEvent<{ code: number; message: string }>(pusher, "pusher:error");
        channel.trigger("client-big", { blob: "x".repeat(20_000) });
        expect(await error).toEqual({ code: 4302, message: expect.stringMatching(/Message too large/) });
        const received = nextEvent(channel, "after-big");
        await broker.sdk().trigger("private-big", "after-big", { still: "alive" });
        expect(await received).toEqual({ still: "alive" });
        expect(pusher.connection.state).toBe("connected");
    });
});

describe("client events", () => {
    it("forwards client events on private channels to the other subscribers only", async () => {
        const sender = await client();
        const receiver = await client();
        const senderChannel = await subscribe(sender, "private-chat");
        const receiverChannel = await subscribe(receiver, "private-chat");
        const echoes = collectEvents(senderChannel, "client-typing");
        const received = nextEvent(receiverChannel, "client-typing");
        senderChannel.trigger("client-typing", { who: "alice" });
        expect(await received).toEqual({ who: "alice" });
        await delay(50);
        expect(echoes.events).toEqual([]);
    });

    it("rate-limits client events to 10 per second per connection", async () => {
        const sender = await client();
        const receiver = await client();
        const senderChannel = await subscribe(sender, "private-flood");
        const receiverChannel = await subscribe(receiver, "private-flood");
        const received = collectEvents(receiverChannel, "client-tick");
        const errors: Array<{ code: number }> = [];
        sender.bind("pusher:error", (error: { code: number }) => errors.push(error));
        for (let i = 0; i < 15; i++) {
            senderChannel.trigger("client-tick", { i });
        }
        await waitFor(() => errors.length === 5 && received.events.length === 10, 3_000);
        expect(errors.every(error => error.code === 4301)).toBe(true);
        expect(received.events).toEqual(Array.from({ length: 10 }, (_, i) => ({ i })));
    });

    it("refuses client events on public channels", async () => {
        const pusher = await client();
        await subscribe(pusher, "public-chat");
        const error = nextEvent<{ code: number }>(pusher, "pusher:error");
        pusher.send_event("client-hello", { hi: 1 }, "public-chat");
        expect(await error).toEqual(expect.objectContaining({ code: 4303 }));
    });
});

describe("presence channels", () => {
    it("tracks members: subscription_succeeded lists them, member_added / member_removed follow", async () => {
        const alice = await client({ presenceUser: { user_id: "alice", user_info: { name: "Alice" } } });
        const aliceChannel = await subscribe(alice, "presence-room");
        const members = (aliceChannel as unknown as { members: { count: number; me: { id: string } } }).members;
        expect(members.count).toBe(1);
        expect(members.me.id).toBe("alice");

        const added = nextEvent<{ id: string; info: unknown }>(aliceChannel, "pusher:member_added");
        const bob = await client({ presenceUser: { user_id: "bob", user_info: { name: "Bob" } } });
        const bobChannel = await subscribe(bob, "presence-room");
        expect(await added).toEqual({ id: "bob", info: { name: "Bob" } });
        const bobMembers = (bobChannel as unknown as { members: { count: number; get(id: string): unknown } }).members;
        expect(bobMembers.count).toBe(2);
        expect(bobMembers.get("alice")).toEqual({ id: "alice", info: { name: "Alice" } });

        const userCount = await broker.sdk().get({ path: "/channels/presence-room", params: { info: "user_count" } });
        expect(await userCount.json()).toEqual({ occupied: true, user_count: 2 });

        const removed = nextEvent<{ id: string }>(aliceChannel, "pusher:member_removed");
        bob.disconnect();
        expect(await removed).toEqual({ id: "bob", info: { name: "Bob" } });
    });

    it("one member per user_id: a user's second socket adds no member, only its last one leaving removes it", async () => {
        const alice = await client({ presenceUser: { user_id: "alice", user_info: { name: "Alice" } } });
        const aliceChannel = await subscribe(alice, "presence-tabs");
        const added = collectEvents<{ id: string }>(aliceChannel, "pusher:member_added");
        const removed = collectEvents<{ id: string }>(aliceChannel, "pusher:member_removed");
        const bobTabs = [];
        for (let tab = 0; tab < 3; tab++) {
            const bob = await client({ presenceUser: { user_id: "bob", user_info: { name: "Bob" } } });
            await subscribe(bob, "presence-tabs");
            bobTabs.push(bob);
        }
        const users = async () =>
            (
                (await (await broker.sdk().get({ path: "/channels/presence-tabs/users" })).json()) as {
                    users: Array<{ id: string }>;
                }
            ).users.map(user => user.id);
        await waitFor(() => added.events.length === 1, 3_000);
        expect(await users()).toEqual(["alice", "bob"]);

        // One tab unsubscribes, one disconnects: bob stays.
        bobTabs[0].unsubscribe("presence-tabs");
        bobTabs[1].disconnect();
        await delay(200);
        expect(removed.events).toEqual([]);
        expect(await users()).toEqual(["alice", "bob"]);

        bobTabs[2].disconnect();
        await waitFor(() => removed.events.length === 1, 3_000);
        await delay(100);
        expect(added.events.map(member => member.id)).toEqual(["bob"]);
        expect(removed.events.map(member => member.id)).toEqual(["bob"]);
        expect(await users()).toEqual(["alice"]);
    });
});
