// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeFetch, fakePusherFactory, json, refuseAllBut, type FakePusher } from "../../__tests__/fakes";
import { LINGER_MS } from "../channels";
import { createConnectionManager } from "../manager";
import type { ChannelListener, SubscriptionStatus } from "../status";
import { resolveServer, type ServerEndpoints } from "../../utils/endpoints";

function endpoints(serverUrl = ""): ServerEndpoints {
    const result = resolveServer(serverUrl, "http://app.test/");
    if (!result.ok) {
        throw new Error(result.message);
    }
    return result.endpoints;
}

interface RecordingListener extends ChannelListener {
    events: Array<{ action: string; data: unknown }>;
    statuses: SubscriptionStatus[];
    readonly last: SubscriptionStatus | undefined;
}

function listener(): RecordingListener {
    const events: RecordingListener["events"] = [];
    const statuses: SubscriptionStatus[] = [];
    return {
        events,
        statuses,
        get last() {
            return statuses[statuses.length - 1];
        },
        onEvent: (action, data) => events.push({ action, data }),
        onStatus: status => statuses.push(status)
    };
}

function setup(
    responders: Parameters<typeof fakeFetch>[0] = {},
    pusherSettings: Parameters<typeof fakePusherFactory>[0] = {}
) {
    const pushers = fakePusherFactory(pusherSettings);
    const server = fakeFetch(responders);
    const manager = createConnectionManager({
        createPusher: pushers.create,
        fetch: server.fetch,
        getCsrfToken: () => "csrf-token-1",
        // No jitter: reconnect checks after exactly 500, 1000, 2000 … ms.
        random: () => 0.5
    });
    return { manager, pushers, server };
}

/** Lets fetch promises, microtasks and zero-delay work settle (with fake timers on). */
async function settle(ms = 0): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
}

function client(pushers: { clients: FakePusher[] }, index = 0): FakePusher {
    const found = pushers.clients[index];
    if (found === undefined) {
        throw new Error(`no pusher client #${index}`);
    }
    return found;
}

const CHANNEL = "private-Sales.Order.1";

describe("ConnectionManager", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("loads the client config, connects once and subscribes with the server's signature", async () => {
        const { manager, pushers, server } = setup();
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        expect(widget.last).toEqual({ state: "connecting" });
        await settle();

        expect(pushers.clients).toHaveLength(1);
        const pusher = client(pushers);
        expect(pusher.key).toBe("app-key");
        expect(pusher.options).toMatchObject({
            cluster: "local",
            wsHost: "127.0.0.1",
            wsPort: 6001,
            wssPort: 6001,
            forceTLS: false,
            enabledTransports: ["ws", "wss"]
        });
        expect(pusher.sentAuth.get(CHANNEL)).toBe(`app-key:signature-for-${CHANNEL}`);
        const auth = server.requests.find(request => request.url.endsWith("/auth"));
        expect(auth?.headers["x-csrf-token"]).toBe("csrf-token-1");
        expect(widget.last).toEqual({ state: "subscribed" });
    });

    it("shares ONE connection among widgets, per server, with one subscription per channel", async () => {
        const { manager, pushers, server } = setup();
        const a = listener();
        const b = listener();
        const c = listener();
        manager.subscribe(endpoints(), CHANNEL, a);
        manager.subscribe(endpoints(), CHANNEL, b);
        manager.subscribe(endpoints(), "private-Sales.Order.2", c);
        await settle();

        expect(pushers.clients).toHaveLength(1);
        expect(manager.connectionCount).toBe(1);
        expect(server.requests.filter(request => request.url.endsWith("/key"))).toHaveLength(1);
        expect(client(pushers).authorizations).toEqual([CHANNEL, "private-Sales.Order.2"]);

        client(pushers).trigger(CHANNEL, "refresh", { guid: "1" });
        expect(a.events).toEqual([{ action: "refresh", data: { guid: "1" } }]);
        expect(b.events).toEqual([{ action: "refresh", data: { guid: "1" } }]);
        expect(c.events).toEqual([]);

        manager.subscribe(endpoints("http://other.test"), CHANNEL, listener());
        await settle();
        expect(pushers.clients).toHaveLength(2);
        expect(manager.connectionCount).toBe(2);
    });

    it("does not pass pusher's own events to widgets", async () => {
        const { manager, pushers } = setup();
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        client(pushers).trigger(CHANNEL, "pusher:subscription_count", { subscription_count: 2 });
        expect(widget.events).toEqual([]);
    });

    it("keeps other widgets' handlers when one leaves; the last one out unsubscribes and disconnects", async () => {
        const { manager, pushers } = setup();
        const a = listener();
        const b = listener();
        const leaveA = manager.subscribe(endpoints(), CHANNEL, a);
        const leaveB = manager.subscribe(endpoints(), CHANNEL, b);
        await settle();
        const pusher = client(pushers);
        const channel = pusher.channels.get(CHANNEL);
        const boundHandlers = channel?.handlerCount;

        leaveA();
        leaveA(); // idempotent
        pusher.trigger(CHANNEL, "refresh", {});
        expect(a.events).toHaveLength(0);
        expect(b.events).toHaveLength(1);
        expect(pusher.unsubscribed).toEqual([]);
        expect(channel?.handlerCount).toBe(boundHandlers);

        leaveB();
        expect(pusher.unsubscribed).toEqual([CHANNEL]);
        expect(channel?.handlerCount).toBe(0);
        await settle(LINGER_MS);
        expect(pusher.disconnected).toBe(true);
        expect(manager.connectionCount).toBe(0);
    });

    it("unsubscribes a channel nobody listens to any more but keeps the connection for the others", async () => {
        const { manager, pushers } = setup();
        const leave1 = manager.subscribe(endpoints(), CHANNEL, listener());
        manager.subscribe(endpoints(), "private-Sales.Order.2", listener());
        await settle();
        leave1();
        expect(client(pushers).unsubscribed).toEqual([CHANNEL]);
        expect(client(pushers).disconnected).toBe(false);
        expect(manager.channelNames(endpoints().base)).toEqual(["private-Sales.Order.2"]);
    });

    it("keeps the connection when the last channel is swapped for another in the same task", async () => {
        const { manager, pushers } = setup();
        const leave = manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        leave();
        const next = listener();
        manager.subscribe(endpoints(), "private-Sales.Order.2", next);
        await settle();
        expect(pushers.clients).toHaveLength(1);
        expect(client(pushers).disconnected).toBe(false);
        expect(client(pushers).unsubscribed).toEqual([CHANNEL]);
        expect(next.last).toEqual({ state: "subscribed" });
    });

    it("opens no socket when every widget left before the config arrived", async () => {
        const { manager, pushers } = setup();
        const leave = manager.subscribe(endpoints(), CHANNEL, listener());
        leave();
        await settle();
        expect(pushers.clients).toHaveLength(0);
        await settle(LINGER_MS);
        expect(pushers.clients).toHaveLength(0);
        expect(manager.connectionCount).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
    });

    it("opens the socket with the config loaded meanwhile when a widget comes back within the grace period", async () => {
        const { manager, pushers, server } = setup();
        manager.subscribe(endpoints(), CHANNEL, listener())();
        await settle(1000);
        expect(pushers.clients).toHaveLength(0);
        const next = listener();
        manager.subscribe(endpoints(), "private-Sales.Order.2", next);
        await settle();
        expect(pushers.clients).toHaveLength(1);
        expect(server.requests.filter(request => request.url.endsWith("/key"))).toHaveLength(1);
        expect(client(pushers).authorizations).toEqual(["private-Sales.Order.2"]);
        expect(next.last).toEqual({ state: "subscribed" });
    });

    it("reports 401 as 'not signed in' and does not retry", async () => {
        const { manager, pushers } = setup({ auth: () => json({ error: { code: "not_authenticated" } }, 401) });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        expect(widget.last).toMatchObject({ state: "error", error: { kind: "not-signed-in", status: 401 } });
        await settle(60_000);
        expect(client(pushers).authorizations).toHaveLength(1);
    });

    it("reports 403 as 'you may not listen to this object' and does not retry", async () => {
        const { manager, pushers } = setup({ auth: () => json({ error: { code: "forbidden" } }, 403) });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        expect(widget.last).toMatchObject({ state: "error", error: { kind: "forbidden" } });
        expect(widget.last?.state === "error" && widget.last.error.message).toMatch(
            /you may not listen to this object/
        );
        await settle(60_000);
        expect(client(pushers).authorizations).toHaveLength(1);
    });

    it("retries 5xx auth failures with exponential backoff (1 s, 2 s, 4 s …) until the server signs", async () => {
        let failures = 3;
        const { manager, pushers } = setup({
            auth: request =>
                failures-- > 0
                    ? json({ error: { code: "access_check_unavailable", message: "Mendix is restarting" } }, 503)
                    : json({ auth: `app-key:sig-${new URLSearchParams(request.body).get("channel_name")}` })
        });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        const pusher = client(pushers);
        expect(pusher.authorizations).toHaveLength(1);
        expect(widget.last).toMatchObject({
            state: "retrying",
            retryInMs: 1000,
            error: { kind: "auth-unavailable", status: 503 }
        });

        await settle(999);
        expect(pusher.authorizations).toHaveLength(1);
        await settle(1);
        expect(pusher.authorizations).toHaveLength(2);
        expect(widget.last).toMatchObject({ state: "retrying", retryInMs: 2000 });

        await settle(2000);
        expect(pusher.authorizations).toHaveLength(3);
        expect(widget.last).toMatchObject({ state: "retrying", retryInMs: 4000 });

        await settle(4000);
        expect(pusher.authorizations).toHaveLength(4);
        expect(widget.last).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);
    });

    it("stops retrying when the widget leaves", async () => {
        const { manager, pushers } = setup({ auth: () => json({ error: { code: "internal_error" } }, 500) });
        const leave = manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        expect(vi.getTimerCount()).toBe(1);
        leave();
        // Only the grace period before disconnecting is left.
        expect(vi.getTimerCount()).toBe(1);
        await settle(60_000);
        expect(client(pushers).authorizations).toHaveLength(1);
        expect(vi.getTimerCount()).toBe(0);
    });

    it("reports an unreachable key endpoint to every widget and retries it with backoff", async () => {
        let down = true;
        const { manager, pushers, server } = setup({
            key: () => (down ? new TypeError("fetch failed") : json({ key: "k", cluster: "eu" }))
        });
        const a = listener();
        const b = listener();
        manager.subscribe(endpoints(), CHANNEL, a);
        manager.subscribe(endpoints(), "private-x", b);
        await settle();
        expect(a.last).toMatchObject({ state: "retrying", retryInMs: 1000, error: { kind: "key-unreachable" } });
        expect(b.last).toMatchObject({ state: "retrying", error: { kind: "key-unreachable" } });
        expect(pushers.clients).toHaveLength(0);

        down = false;
        await settle(1000);
        expect(server.requests.filter(request => request.url.endsWith("/key"))).toHaveLength(2);
        expect(pushers.clients).toHaveLength(1);
        expect(client(pushers).options).toMatchObject({ cluster: "eu" });
        expect(client(pushers).options.wsHost).toBeUndefined();
        expect(a.last).toEqual({ state: "subscribed" });
        expect(b.last).toEqual({ state: "subscribed" });
    });

    it("reports a key endpoint answering non-200 or not a configuration as an error, without retrying", async () => {
        const { manager, server } = setup({ key: () => new Response("<html></html>", { status: 200 }) });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle(60_000);
        expect(widget.last).toMatchObject({ state: "error", error: { kind: "key-invalid" } });
        expect(server.requests).toHaveLength(1);

        const notFound = setup({ key: () => json({ error: { code: "not_found", message: "Not found" } }, 404) });
        const other = listener();
        notFound.manager.subscribe(endpoints(), CHANNEL, other);
        await settle();
        expect(other.last).toMatchObject({ state: "error", error: { kind: "key-status", status: 404 } });
    });

    it("tells widgets that join later about a problem already known", async () => {
        const { manager } = setup({ key: () => json({ error: { code: "not_found" } }, 404) });
        manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        const late = listener();
        manager.subscribe(endpoints(), CHANNEL, late);
        expect(late.statuses).toEqual([expect.objectContaining({ state: "error" })]);
    });

    it("shows the connection as reconnecting while the socket is unavailable and resubscribes after", async () => {
        const { manager, pushers } = setup();
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        const pusher = client(pushers);
        pusher.setState("unavailable");
        expect(widget.last).toMatchObject({
            state: "retrying",
            error: { message: expect.stringMatching(/reconnecting/) }
        });
        pusher.setState("connected");
        await settle();
        expect(widget.last).toEqual({ state: "subscribed" });
        expect(pusher.authorizations).toEqual([CHANNEL, CHANNEL]);
    });
});

describe("ConnectionManager: grace period after the last channel", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("reuses the connection when a data view switches objects (the old channel leaves while the new object loads)", async () => {
        const { manager, pushers } = setup();
        const leave = manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        const pusher = client(pushers);

        leave();
        // The Mendix client shows the data view "loading" for a moment between the two objects.
        await settle(500);
        expect(pusher.disconnected).toBe(false);
        expect(manager.connectionCount).toBe(1);
        const next = listener();
        manager.subscribe(endpoints(), "private-Sales.Order.2", next);
        await settle();

        expect(pushers.clients).toHaveLength(1);
        expect(client(pushers)).toBe(pusher);
        expect(pusher.connectCalls).toBe(1);
        expect(pusher.disconnectCalls).toBe(0);
        expect(pusher.unsubscribed).toEqual([CHANNEL]);
        expect(pusher.authorizations).toEqual([CHANNEL, "private-Sales.Order.2"]);
        expect(next.last).toEqual({ state: "subscribed" });
        // The grace period was cancelled: the connection stays while the new object is shown.
        expect(vi.getTimerCount()).toBe(0);
        await settle(10 * LINGER_MS);
        expect(pusher.disconnected).toBe(false);
        pusher.trigger("private-Sales.Order.2", "refresh", { guid: "2" });
        expect(next.events).toEqual([{ action: "refresh", data: { guid: "2" } }]);
    });

    it("disconnects an idle connection exactly when the grace period ends", async () => {
        const { manager, pushers } = setup();
        const leave = manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        leave();
        await settle(LINGER_MS - 1);
        expect(client(pushers).disconnected).toBe(false);
        expect(manager.connectionCount).toBe(1);
        await settle(1);
        expect(client(pushers).disconnected).toBe(true);
        expect(manager.connectionCount).toBe(0);
        expect(vi.getTimerCount()).toBe(0);

        // A widget arriving later opens a new connection.
        manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        expect(pushers.clients).toHaveLength(2);
        expect(client(pushers, 1).state).toBe("connected");
    });

    it("leaves no timer behind after the grace period when every widget unmounts, even mid-retry", async () => {
        let authFailures = 1;
        const { manager, pushers } = setup({
            auth: request =>
                request.body?.includes("private-retry") && authFailures-- > 0
                    ? json({ error: { code: "access_check_unavailable" } }, 503)
                    : json({ auth: "app-key:sig" })
        });
        const leaves = [
            manager.subscribe(endpoints(), CHANNEL, listener()),
            manager.subscribe(endpoints(), CHANNEL, listener()),
            manager.subscribe(endpoints(), "private-retry", listener()),
            manager.subscribe(endpoints("http://other.test"), CHANNEL, listener())
        ];
        await settle();
        client(pushers).drop();
        expect(vi.getTimerCount()).toBeGreaterThan(0);
        for (const leave of leaves) {
            leave();
        }
        await settle(LINGER_MS);
        expect(vi.getTimerCount()).toBe(0);
        expect(manager.connectionCount).toBe(0);
        expect(pushers.clients.every(pusher => pusher.disconnected)).toBe(true);
    });

    it("close() disconnects at once and stops every timer", async () => {
        const { manager, pushers } = setup({ auth: () => json({ error: { code: "internal_error" } }, 500) });
        const widget = listener();
        const leave = manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        const pusher = client(pushers);
        pusher.reachable = false;
        pusher.drop();
        expect(vi.getTimerCount()).toBeGreaterThan(0);
        manager.close();
        expect(pusher.disconnected).toBe(true);
        expect(manager.connectionCount).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
        leave();
        expect(vi.getTimerCount()).toBe(0);
        const statuses = widget.statuses.length;
        await settle(60_000);
        expect(widget.statuses).toHaveLength(statuses);
        expect(pusher.connectCalls).toBe(1);
    });
});

describe("ConnectionManager: reconnecting after the socket was lost", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    /** One widget subscribed on a connected socket. */
    async function connected() {
        const context = setup();
        const widget = listener();
        const leave = context.manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        const pusher = client(context.pushers);
        expect(widget.last).toEqual({ state: "subscribed" });
        return { ...context, widget, leave, pusher };
    }

    it("recovers from a server restart within one backoff step of the server coming back", async () => {
        const { pusher, widget } = await connected();
        pusher.reachable = false;
        pusher.drop(4200); // pusher-js retries at once; that attempt meets the closed port and would hang for 15 s
        expect(widget.last).toEqual({ state: "connecting" });

        await settle(499);
        expect(pusher.disconnectCalls).toBe(0);
        await settle(1);
        expect(pusher.disconnectCalls).toBe(1);
        expect(pusher.connectCalls).toBe(2);
        expect(pusher.state).toBe("connecting");

        await settle(1000); // second check: still down
        expect(pusher.connectCalls).toBe(3);

        pusher.reachable = true; // the server is back
        await settle(1999);
        expect(pusher.state).toBe("connecting");
        await settle(1);
        expect(pusher.connectCalls).toBe(4);
        expect(pusher.state).toBe("connected");
        // pusher-js subscribes every channel again once connected; the widget listens again.
        expect(pusher.authorizations).toEqual([CHANNEL, CHANNEL]);
        expect(widget.last).toEqual({ state: "subscribed" });
        pusher.trigger(CHANNEL, "refresh", { after: "restart" });
        expect(widget.events).toEqual([{ action: "refresh", data: { after: "restart" } }]);
        expect(vi.getTimerCount()).toBe(0);

        // The backoff starts again from 0.5 s after the next loss.
        pusher.reachable = false;
        pusher.drop();
        await settle(500);
        expect(pusher.connectCalls).toBe(5);
        pusher.reachable = true;
        await settle(1000);
        expect(pusher.state).toBe("connected");
        expect(vi.getTimerCount()).toBe(0);
    });

    it("backs off 0.5 s, 1 s, 2 s, 4 s … capped at 15 s while the server stays down", async () => {
        const { pusher } = await connected();
        pusher.reachable = false;
        pusher.drop();
        const restartedAt: number[] = [];
        let elapsed = 0;
        while (elapsed < 60_000) {
            await settle(100);
            elapsed += 100;
            if (pusher.disconnectCalls > restartedAt.length) {
                restartedAt.push(elapsed);
            }
        }
        const gaps = restartedAt.map((at, index) => at - (restartedAt[index - 1] ?? 0));
        expect(gaps).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
        expect(vi.getTimerCount()).toBe(1);
    });

    it("shows 'reconnecting' only after a few failed attempts, then 'subscribed' again", async () => {
        const { pusher, widget } = await connected();
        pusher.reachable = false;
        pusher.drop();
        await settle(500 + 1000);
        expect(widget.last).toEqual({ state: "connecting" });
        await settle(2000); // third failed attempt, about 3.5 s into the outage
        expect(widget.last).toMatchObject({
            state: "retrying",
            retryInMs: 4000,
            error: { kind: "key-unreachable", message: expect.stringMatching(/Lost the connection.*reconnecting/) }
        });
        pusher.reachable = true;
        await settle(4000);
        expect(widget.last).toEqual({ state: "subscribed" });
    });

    it("leaves pusher-js alone when its own reconnect works", async () => {
        const { pusher, widget } = await connected();
        pusher.drop(4200); // the server is reachable: pusher-js's immediate retry succeeds
        await settle();
        expect(pusher.state).toBe("connected");
        expect(widget.last).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);
        await settle(60_000);
        expect(pusher.disconnectCalls).toBe(0);
        expect(pusher.connectCalls).toBe(1);

        // Nor when pusher-js comes back by itself before the first check.
        pusher.reachable = false;
        pusher.drop();
        await settle(400);
        pusher.recover();
        await settle(60_000);
        expect(pusher.disconnectCalls).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
    });

    it("lets a slow first connection attempt run; 'unavailable' or a socket error starts the checks", async () => {
        const { manager, pushers } = setup({}, { reachable: false });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        const pusher = client(pushers);
        expect(pusher.state).toBe("connecting");
        expect(vi.getTimerCount()).toBe(0);
        await settle(9_000);
        expect(pusher.connectCalls).toBe(1);

        pusher.setState("unavailable"); // pusher-js after its 10 s unavailableTimeout
        expect(widget.last).toMatchObject({ state: "retrying", error: { kind: "key-unreachable" } });
        expect(vi.getTimerCount()).toBe(1);
        pusher.reachable = true;
        await settle(500);
        expect(pusher.connectCalls).toBe(2);
        expect(pusher.state).toBe("connected");
        expect(widget.last).toEqual({ state: "subscribed" });

        const other = setup({}, { reachable: false });
        other.manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        const second = client(other.pushers);
        second.emitConnection("error", {
            type: "WebSocketError",
            error: { type: "PusherError", data: { code: 1006 } }
        });
        expect(vi.getTimerCount()).toBe(1);
        second.reachable = true;
        await settle(500);
        expect(second.connectCalls).toBe(2);
        expect(second.state).toBe("connected");
    });

    it("an error while connected only arms a check, which finds the socket connected and stops", async () => {
        const { pusher, widget } = await connected();
        pusher.emitConnection("error", { type: "PusherError", data: { code: 4301, message: "client event rejected" } });
        expect(vi.getTimerCount()).toBe(1);
        await settle(500);
        expect(pusher.disconnectCalls).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
        expect(widget.last).toEqual({ state: "subscribed" });
    });

    it("does not reconnect when pusher-js gives up on purpose, and says why (server refused, not for the key)", async () => {
        const { pusher, widget, server } = await connected();
        pusher.reachable = false;
        // What pusher-js does for close codes 4000-4099 (and 4300+ in the handshake): report the error, disconnect.
        pusher.refuse(4007, "Unsupported protocol version");
        expect(widget.last).toMatchObject({
            state: "error",
            error: {
                kind: "connection-refused",
                message: "The Notify & Listen server refused the connection (4007: Unsupported protocol version)."
            }
        });
        expect(vi.getTimerCount()).toBe(0);
        await settle(60_000);
        expect(pusher.connectCalls).toBe(1);
        expect(pusher.disconnectCalls).toBe(0);
        // Not a key problem: the key endpoint is not asked again.
        expect(server.requests.filter(request => request.url.endsWith("/key"))).toHaveLength(1);
    });

    it("never reconnects after the last subscriber left, and recovers a socket lost while lingering", async () => {
        const { manager, pusher, leave } = await connected();
        pusher.reachable = false;
        pusher.drop();
        expect(vi.getTimerCount()).toBe(1);
        leave();
        // Only the grace period is left; the reconnect check is gone.
        expect(vi.getTimerCount()).toBe(1);
        await settle(LINGER_MS - 100);
        expect(pusher.disconnectCalls).toBe(0);
        expect(pusher.connectCalls).toBe(1);

        // A widget arrives within the grace period while the socket is still down: the checks resume.
        const widget = listener();
        manager.subscribe(endpoints(), "private-Sales.Order.2", widget);
        expect(vi.getTimerCount()).toBe(1);
        pusher.reachable = true;
        await settle(500);
        expect(pusher.connectCalls).toBe(2);
        expect(pusher.state).toBe("connected");
        expect(widget.last).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);
    });
});

/** The key endpoint's answer for a self-hosted broker with app key `key`. */
function keyConfig(key: string): () => Response {
    return () => json({ key, cluster: "local", wsHost: "127.0.0.1", wsPort: 6001, forceTLS: false });
}

function keyRequests(server: ReturnType<typeof fakeFetch>): number {
    return server.requests.filter(request => request.url.endsWith("/rest/pusher/key")).length;
}

function problems(statuses: SubscriptionStatus[]): SubscriptionStatus[] {
    return statuses.filter(status => status.state === "error" || status.state === "retrying");
}

describe("ConnectionManager: the server refuses the app key (4001 unknown key, 4003 app disabled)", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("after a restart with new credentials: asks the key endpoint again and moves every channel, with its listeners, to a client with the new key", async () => {
        const { manager, pushers, server } = setup({ key: keyConfig("key-a") }, { acceptKey: "key-a" });
        const a = listener();
        const b = listener();
        const c = listener();
        manager.subscribe(endpoints(), CHANNEL, a);
        manager.subscribe(endpoints(), CHANNEL, b);
        const leaveC = manager.subscribe(endpoints(), "private-Sales.Order.2", c);
        await settle();
        const first = client(pushers);
        expect(first.key).toBe("key-a");
        expect(c.last).toEqual({ state: "subscribed" });
        const authRequests = server.requests.filter(request => request.url.endsWith("/auth")).length;

        // The server restarts with new broker credentials: it closes the socket with 4200, pusher-js retries at once
        // and the new server refuses the old key with 4001.
        server.responders.key = keyConfig("key-b");
        pushers.broker.refuse = refuseAllBut("key-b");
        first.drop(4200);
        await settle();

        expect(keyRequests(server)).toBe(2);
        expect(pushers.clients).toHaveLength(2);
        const second = client(pushers, 1);
        expect(second.key).toBe("key-b");
        expect(second.options).toMatchObject({ wsHost: "127.0.0.1", wsPort: 6001, forceTLS: false });
        expect(second.state).toBe("connected");
        expect(first.state).toBe("disconnected");
        expect(first.connectCalls).toBe(1);
        // Authorized again through the manager's customHandler, for the new socket.
        expect(second.authorizations).toEqual([CHANNEL, "private-Sales.Order.2"]);
        expect(server.requests.filter(request => request.url.endsWith("/auth")).length).toBe(authRequests + 2);
        expect(second.sentAuth.get(CHANNEL)).toBe(`app-key:signature-for-${CHANNEL}`);
        // The old client's channels carry no handler of the manager any more.
        expect(first.channels.get(CHANNEL)?.handlerCount).toBe(0);
        for (const widget of [a, b, c]) {
            expect(widget.last).toEqual({ state: "subscribed" });
            // A rotated key is fixed at once: no widget ever showed an error.
            expect(problems(widget.statuses)).toEqual([]);
        }
        expect(vi.getTimerCount()).toBe(0);

        // Notifications reach the existing listeners through the new client.
        second.trigger(CHANNEL, "refresh", { after: "rotation" });
        expect(a.events).toEqual([{ action: "refresh", data: { after: "rotation" } }]);
        expect(b.events).toEqual([{ action: "refresh", data: { after: "rotation" } }]);
        expect(c.events).toEqual([]);

        // The replaced client is not heard any more.
        const statuses = a.statuses.length;
        first.emitConnection("error", { type: "WebSocketError", error: { type: "PusherError", data: { code: 4001 } } });
        first.emitConnection("state_change", { previous: "connected", current: "disconnected" });
        await settle(60_000);
        expect(a.statuses).toHaveLength(statuses);
        expect(pushers.clients).toHaveLength(2);

        // Leaving unsubscribes on the new client; the last one out disconnects it.
        leaveC();
        expect(second.unsubscribed).toEqual(["private-Sales.Order.2"]);
        manager.close();
        expect(second.disconnected).toBe(true);
        expect(vi.getTimerCount()).toBe(0);
    });

    it("handles a refusal of an established connection (close 4001 after the handshake) the same way", async () => {
        const { manager, pushers, server } = setup({ key: keyConfig("key-a") });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        server.responders.key = keyConfig("key-b");
        client(pushers).refuse(4001, "App key key-a not found", true);
        await settle();
        expect(pushers.clients.map(pusher => pusher.key)).toEqual(["key-a", "key-b"]);
        expect(widget.last).toEqual({ state: "subscribed" });
        client(pushers, 1).trigger(CHANNEL, "refresh", {});
        expect(widget.events).toHaveLength(1);
    });

    it("says 'The server refused the app key' while the key endpoint still serves it, and retries with the bounded backoff until the server accepts it", async () => {
        const { manager, pushers, server } = setup({}, { acceptKey: "another-key" });
        const a = listener();
        const b = listener();
        manager.subscribe(endpoints(), CHANNEL, a);
        manager.subscribe(endpoints(), "private-Sales.Order.2", b);
        await settle();

        // Refused, key endpoint asked again: same key. One more try with it, refused again: now wait.
        expect(pushers.clients).toHaveLength(1);
        const pusher = client(pushers);
        expect(keyRequests(server)).toBe(2);
        expect(pusher.connectCalls).toBe(2);
        for (const widget of [a, b]) {
            expect(widget.last).toMatchObject({
                state: "retrying",
                retryInMs: 500,
                error: {
                    kind: "key-refused",
                    message:
                        'The server refused the app key "app-key" (4001: App key not found) that ' +
                        "http://app.test/rest/pusher/key serves. Check that the key endpoint and the WebSocket " +
                        "server use the same Pusher app."
                }
            });
        }

        // One key request and one connection attempt per step: 0.5 s, 1 s, 2 s, 4 s, 8 s, 15 s, 15 s …
        const fetchedAt: number[] = [];
        let elapsed = 0;
        while (elapsed < 60_000) {
            await settle(100);
            elapsed += 100;
            if (keyRequests(server) - 2 > fetchedAt.length) {
                fetchedAt.push(elapsed);
            }
        }
        const gaps = fetchedAt.map((at, index) => at - (fetchedAt[index - 1] ?? 0));
        expect(gaps).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
        expect(pusher.connectCalls).toBe(2 + gaps.length);
        expect(pushers.clients).toHaveLength(1);
        expect(vi.getTimerCount()).toBe(1);
        expect(a.last).toMatchObject({ state: "retrying", retryInMs: 15_000, error: { kind: "key-refused" } });

        // The server accepts the key again (say, the app was enabled again): the next round connects.
        pushers.broker.refuse = () => undefined;
        await settle(15_000);
        expect(pusher.state).toBe("connected");
        expect(a.last).toEqual({ state: "subscribed" });
        expect(b.last).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);

        // The backoff starts from the beginning after a connection: the next refusal asks the key endpoint at once.
        const before = keyRequests(server);
        pushers.broker.refuse = refuseAllBut("another-key");
        pusher.drop(4200);
        await settle();
        expect(keyRequests(server)).toBe(before + 1);
        expect(a.last).toMatchObject({ state: "retrying", retryInMs: 500, error: { kind: "key-refused" } });
        manager.close();
        expect(vi.getTimerCount()).toBe(0);
    });

    it("treats 4003 (app disabled) alike, and switches to the new key once the key endpoint serves one", async () => {
        const { manager, pushers, server } = setup({ key: keyConfig("key-a") });
        pushers.broker.refuse = () => ({ code: 4003, message: "Application disabled" });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        expect(widget.last).toMatchObject({
            state: "retrying",
            error: {
                kind: "key-refused",
                message: expect.stringMatching(/^The server refused the app key "key-a" \(4003: Application disabled\)/)
            }
        });

        // The operator rotates the key: the next round picks it up.
        server.responders.key = keyConfig("key-b");
        pushers.broker.refuse = refuseAllBut("key-b");
        await settle(500);
        expect(pushers.clients.map(pusher => pusher.key)).toEqual(["key-a", "key-b"]);
        expect(client(pushers, 1).state).toBe("connected");
        expect(widget.last).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);
    });

    it("retries a key endpoint that is down after the refusal with its own backoff, then uses the new key", async () => {
        const { manager, pushers, server } = setup({ key: keyConfig("key-a") });
        const widget = listener();
        manager.subscribe(endpoints(), CHANNEL, widget);
        await settle();
        let failures = 2;
        server.responders.key = () =>
            failures-- > 0 ? json({ error: { code: "starting", message: "Starting" } }, 503) : keyConfig("key-b")();
        pushers.broker.refuse = refuseAllBut("key-b");
        client(pushers).drop(4200);
        await settle();
        expect(widget.last).toMatchObject({ state: "retrying", retryInMs: 1000, error: { kind: "key-status" } });
        await settle(1000);
        expect(widget.last).toMatchObject({ state: "retrying", retryInMs: 2000, error: { kind: "key-status" } });
        expect(pushers.clients).toHaveLength(1);
        await settle(2000);
        expect(pushers.clients.map(pusher => pusher.key)).toEqual(["key-a", "key-b"]);
        expect(widget.last).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);
    });

    it("stays bounded by the backoff when every key the endpoint serves is refused (two servers, two keys)", async () => {
        let served = 0;
        const { manager, pushers, server } = setup(
            { key: () => keyConfig(served++ % 2 === 0 ? "key-a" : "key-b")() },
            { acceptKey: "key-c" }
        );
        const widget = listener();
        const leave = manager.subscribe(endpoints(), CHANNEL, widget);
        const created: number[] = [];
        for (let elapsed = 0; elapsed <= 60_000; elapsed += 100) {
            await settle(elapsed === 0 ? 0 : 100);
            while (created.length < pushers.clients.length) {
                created.push(elapsed);
            }
        }
        // A new client per round, at the reconnect backoff: no tight loop.
        expect(created).toEqual([0, 0, 500, 1500, 3500, 7500, 15_500, 30_500, 45_500]);
        expect(pushers.clients).toHaveLength(9);
        expect(keyRequests(server)).toBe(9);
        expect(pushers.clients.every(pusher => pusher.state === "disconnected")).toBe(true);
        expect(widget.last).toMatchObject({ state: "retrying", error: { kind: "key-refused" } });
        leave();
        await settle(LINGER_MS);
        expect(manager.connectionCount).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
        await settle(60_000);
        expect(keyRequests(server)).toBe(9);
    });

    it("stops the rounds when the last widget leaves, and drops a refused connection that has no channel", async () => {
        const { manager, pushers, server } = setup({}, { acceptKey: "another-key" });
        const leave = manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        expect(vi.getTimerCount()).toBe(1);
        leave();
        // The round due within the grace period closes the connection instead of asking for a key for nobody.
        await settle(500);
        expect(manager.connectionCount).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
        expect(keyRequests(server)).toBe(2);
        await settle(60_000);
        expect(keyRequests(server)).toBe(2);
        expect(client(pushers).connectCalls).toBe(2);
        expect(client(pushers).disconnectCalls).toBe(1);

        // Refused while lingering without channels: closed at once; the next widget starts afresh.
        const rotated = setup({ key: keyConfig("key-a") });
        const leaveRotated = rotated.manager.subscribe(endpoints(), CHANNEL, listener());
        await settle();
        leaveRotated();
        rotated.server.responders.key = keyConfig("key-b");
        client(rotated.pushers).refuse(4001, "App key key-a not found", true);
        expect(rotated.manager.connectionCount).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
        const next = listener();
        rotated.manager.subscribe(endpoints(), CHANNEL, next);
        await settle();
        expect(rotated.pushers.clients.map(pusher => pusher.key)).toEqual(["key-a", "key-b"]);
        expect(next.last).toEqual({ state: "subscribed" });
    });
});

describe("ConnectionManager: a refused key and the grace period", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("goes on with the rounds when a widget comes back within the grace period", async () => {
        const { manager, pushers, server } = setup({}, { acceptKey: "another-key" });
        const leave = manager.subscribe(endpoints(), CHANNEL, listener());
        await settle(); // refused twice; the next round is due in 500 ms
        leave();
        await settle(200);
        const next = listener();
        manager.subscribe(endpoints(), "private-Sales.Order.2", next);
        expect(next.last).toMatchObject({ state: "retrying", error: { kind: "key-refused" } });

        pushers.broker.refuse = () => undefined;
        await settle(300);
        expect(keyRequests(server)).toBe(3);
        expect(pushers.clients).toHaveLength(1);
        expect(client(pushers).authorizations).toEqual(["private-Sales.Order.2"]);
        expect(next.last).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);
    });
});
