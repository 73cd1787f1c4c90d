// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeFetch, fakePusherFactory, json, type FakePusher } from "../../__tests__/fakes";
import { ConnectionManager, pusherOptions, type ChannelListener, type SubscriptionStatus } from "../connection";
import { resolveServer, type ServerEndpoints } from "../server";

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

function setup(responders: Parameters<typeof fakeFetch>[0] = {}) {
    const pushers = fakePusherFactory();
    const server = fakeFetch(responders);
    const manager = new ConnectionManager({
        createPusher: pushers.create,
        fetch: server.fetch,
        getCsrfToken: () => "csrf-token-1"
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
        await settle();
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
        expect(manager.connectionCount).toBe(0);
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
        expect(vi.getTimerCount()).toBe(0);
        await settle(60_000);
        expect(client(pushers).authorizations).toHaveLength(1);
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

describe("pusherOptions", () => {
    it("uses only cluster (+forceTLS) for Pusher Channels, and ws transports for a self-hosted server", () => {
        const authorize = { customHandler: () => undefined };
        expect(pusherOptions({ key: "k", cluster: "eu" }, authorize)).toEqual({
            cluster: "eu",
            channelAuthorization: authorize
        });
        expect(
            pusherOptions({ key: "k", cluster: "local", wsHost: "notify.example.com", forceTLS: true }, authorize)
        ).toEqual({
            cluster: "local",
            channelAuthorization: authorize,
            wsHost: "notify.example.com",
            forceTLS: true,
            enabledTransports: ["ws", "wss"]
        });
    });
});
