import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ListenError } from "../../utils/errors";
import { subscribeChannel, subscriptionError } from "../channelSubscription";
import type { ChannelLike } from "../pusherJs";
import type { SubscriptionStatus } from "../status";

type Handler = (event: string, data: unknown) => void;

/** A pusher-js client with one channel: `emit` plays the events pusher-js delivers to global handlers. */
function fakeClient(subscribed = false) {
    const handlers: Handler[] = [];
    const channel: ChannelLike = {
        subscribed,
        bind_global: handler => handlers.push(handler),
        unbind_global: handler => handlers.splice(handlers.indexOf(handler), 1)
    };
    const client = {
        subscribeCalls: 0,
        handlers,
        subscribe: () => {
            client.subscribeCalls++;
            return channel;
        },
        emit: (event: string, data: unknown = {}) => {
            for (const handler of [...handlers]) {
                handler(event, data);
            }
        }
    };
    return client;
}

function recorder() {
    const statuses: SubscriptionStatus[] = [];
    const events: Array<[string, unknown]> = [];
    return {
        statuses,
        events,
        onStatus: (status: SubscriptionStatus) => statuses.push(status),
        onEvent: (action: string, data: unknown) => events.push([action, data])
    };
}

const unavailable = new ListenError("auth-unavailable", "Mendix is restarting", { status: 503, retryable: true });

describe("subscribeChannel", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("subscribes and reports 'subscribed' when pusher-js confirms", () => {
        const client = fakeClient();
        const heard = recorder();
        subscribeChannel(client, "private-x", heard);
        expect(client.subscribeCalls).toBe(1);
        expect(heard.statuses).toEqual([]);
        client.emit("pusher:subscription_succeeded");
        expect(heard.statuses).toEqual([{ state: "subscribed" }]);
    });

    it("reports 'subscribed' at once for a channel pusher-js already has", () => {
        const heard = recorder();
        subscribeChannel(fakeClient(true), "private-x", heard);
        expect(heard.statuses).toEqual([{ state: "subscribed" }]);
    });

    it("passes notifications on, never pusher-js's own events", () => {
        const client = fakeClient();
        const heard = recorder();
        subscribeChannel(client, "private-x", heard);
        client.emit("pusher:subscription_count", { subscription_count: 2 });
        client.emit("pusher_internal:subscription_succeeded", {});
        client.emit("refresh", { guid: "1" });
        client.emit("pusherish action", { guid: "2" });
        expect(heard.events).toEqual([
            ["refresh", { guid: "1" }],
            ["pusherish action", { guid: "2" }]
        ]);
    });

    it("reports our authorizer's reason and retries a temporary refusal with backoff until it succeeds", async () => {
        const client = fakeClient();
        const heard = recorder();
        const subscription = subscribeChannel(client, "private-x", heard);
        subscription.authorizationFailed(unavailable);
        client.emit("pusher:subscription_error", { type: "AuthError", error: "Mendix is restarting" });
        expect(heard.statuses).toEqual([{ state: "retrying", error: unavailable, retryInMs: 1000 }]);

        await vi.advanceTimersByTimeAsync(1000);
        expect(client.subscribeCalls).toBe(2);
        subscription.authorizationFailed(unavailable);
        client.emit("pusher:subscription_error", {});
        expect(heard.statuses[1]).toMatchObject({ state: "retrying", retryInMs: 2000 });

        await vi.advanceTimersByTimeAsync(2000);
        client.emit("pusher:subscription_succeeded");
        expect(heard.statuses[2]).toEqual({ state: "subscribed" });
        expect(vi.getTimerCount()).toBe(0);

        // The backoff starts over after a success.
        subscription.authorizationFailed(unavailable);
        client.emit("pusher:subscription_error", {});
        expect(heard.statuses[3]).toMatchObject({ state: "retrying", retryInMs: 1000 });
    });

    it("does not retry a refusal that needs a fix", async () => {
        const client = fakeClient();
        const heard = recorder();
        const subscription = subscribeChannel(client, "private-x", heard);
        const forbidden = new ListenError("forbidden", "you may not listen to this object", { status: 403 });
        subscription.authorizationFailed(forbidden);
        client.emit("pusher:subscription_error", {});
        expect(heard.statuses).toEqual([{ state: "error", error: forbidden }]);
        await vi.advanceTimersByTimeAsync(60_000);
        expect(client.subscribeCalls).toBe(1);
    });

    it("explains a subscription error our authorizer did not report from pusher-js's data", () => {
        const client = fakeClient();
        const heard = recorder();
        subscribeChannel(client, "private-x", heard);
        client.emit("pusher:subscription_error", { type: "AuthError", error: "Bad signature", status: 500 });
        expect(heard.statuses[0]).toMatchObject({ state: "retrying", error: { kind: "subscription", status: 500 } });
    });

    it("stop() ends the retry and unbinds from the channel", async () => {
        const client = fakeClient();
        const heard = recorder();
        const subscription = subscribeChannel(client, "private-x", heard);
        subscription.authorizationFailed(unavailable);
        client.emit("pusher:subscription_error", {});
        subscription.stop();
        expect(client.handlers).toHaveLength(0);
        expect(vi.getTimerCount()).toBe(0);
        client.emit("refresh", {});
        expect(heard.events).toEqual([]);
    });
});

describe("subscriptionError", () => {
    it("tells 401 and 403 apart, retries only 5xx, and quotes the server", () => {
        expect(subscriptionError("private-x", { status: 401, error: "no session" })).toMatchObject({
            kind: "not-signed-in",
            status: 401,
            retryable: false,
            message: "The server refused to let this page listen to private-x (no session)."
        });
        expect(subscriptionError("private-x", { status: 403, message: "no access" })).toMatchObject({
            kind: "forbidden",
            message: "The server refused to let this page listen to private-x (no access)."
        });
        expect(subscriptionError("private-x", { status: 502 })).toMatchObject({
            kind: "subscription",
            retryable: true
        });
    });

    it("shows other data as JSON, and nothing for none", () => {
        expect(subscriptionError("private-x", { code: 4009 }).message).toBe(
            'The server refused to let this page listen to private-x ({"code":4009}).'
        );
        expect(subscriptionError("private-x", undefined)).toMatchObject({
            kind: "subscription",
            retryable: false,
            message: "The server refused to let this page listen to private-x."
        });
    });
});

describe("subscribeChannel on a presence channel", () => {
    /** A presence channel as pusher-js keeps it: `members.members` is changed in place by pusher-js. */
    function presenceClient() {
        const handlers: Handler[] = [];
        const members: Record<string, unknown> = {};
        const channel: ChannelLike = {
            members: { members },
            bind_global: handler => handlers.push(handler),
            unbind_global: handler => handlers.splice(handlers.indexOf(handler), 1)
        };
        const emit = (event: string, data: unknown = {}): void => {
            for (const handler of [...handlers]) {
                handler(event, data);
            }
        };
        return { subscribe: () => channel, members, emit };
    }

    it("reports a copy of the members once subscribed and after each join and leave, never as a notification", () => {
        const client = presenceClient();
        const heard = recorder();
        const reported: Array<Record<string, unknown>> = [];
        subscribeChannel(client, "presence-Sales.Order.1", { ...heard, onMembers: members => reported.push(members) });
        client.members.john = { name: "John Smith" };
        client.emit("pusher:subscription_succeeded", { members: client.members });
        client.members.mary = { name: "Mary Jones" };
        client.emit("pusher:member_added", { id: "mary", info: { name: "Mary Jones" } });
        delete client.members.john;
        client.emit("pusher:member_removed", { id: "john", info: { name: "John Smith" } });
        expect(reported).toEqual([
            { john: { name: "John Smith" } },
            { john: { name: "John Smith" }, mary: { name: "Mary Jones" } },
            { mary: { name: "Mary Jones" } }
        ]);
        // Copies: pusher-js changing its own members later does not change what was reported.
        expect(reported[0]).not.toBe(client.members);
        expect(heard.statuses).toEqual([{ state: "subscribed" }]);
        expect(heard.events).toEqual([]);
    });

    it("reports no members for a private channel", () => {
        const client = fakeClient();
        const reported: unknown[] = [];
        subscribeChannel(client, "private-x", { ...recorder(), onMembers: members => reported.push(members) });
        client.emit("pusher:subscription_succeeded");
        expect(reported).toEqual([]);
    });
});
