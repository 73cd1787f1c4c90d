import { act, render, screen } from "@testing-library/react";
import Big from "big.js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ListenContainerProps } from "../../typings/ListenProps";
import { Listen } from "../Listen";
import { LINGER_MS } from "../connection/channels";
import { SETTLE_MS } from "../utils/dispatcher";
import {
    actionEntry,
    actionValue,
    dynamic,
    listenProps,
    loading,
    objectSource,
    unavailable,
    withFlags,
    type RecordedAction
} from "./builders";
import { json } from "./fakes";
import { flush, setupPage } from "./page";
import { setTestSession } from "./shims/mendixSession";

const ORDER_CHANNEL = "private-Sales.Order.281474976710657";
const payload = {
    entity: "Sales.Order",
    guid: "281474976710657",
    changedDate: "2026-11-24T10:00:00.000Z",
    sender: "john",
    data: "shipped"
};

function statusElement(container: HTMLElement): HTMLElement {
    const element = container.querySelector<HTMLElement>("[data-listen-state]");
    if (element === null) {
        throw new Error("no status element");
    }
    return element;
}

describe("Listen widget", () => {
    let consoleError: ReturnType<typeof vi.spyOn>;

    beforeEach(() => {
        vi.useFakeTimers();
        consoleError = vi.spyOn(console, "error").mockImplementation(() => undefined);
    });
    afterEach(() => {
        vi.useRealTimers();
        vi.restoreAllMocks();
    });

    it("renders nothing visible while listening, with state and channel in data attributes", async () => {
        const { wrap } = setupPage();
        const { container } = render(wrap(<Listen {...listenProps()} />));
        expect(statusElement(container).dataset.listenState).toBe("connecting");
        await flush();

        const status = statusElement(container);
        expect(status.tagName).toBe("SPAN");
        expect(status.hidden).toBe(true);
        expect(status.textContent).toBe("");
        expect(status.dataset.listenState).toBe("listening");
        expect(status.dataset.listenChannel).toBe(ORDER_CHANNEL);
        expect(screen.queryByRole("alert")).toBeNull();
        expect(consoleError).not.toHaveBeenCalled();
    });

    it("runs the action named like the event with sender, changedDate and data", async () => {
        const { wrap, client } = setupPage();
        const refresh = actionValue();
        const other = actionValue();
        render(
            wrap(
                <Listen {...listenProps({ actions: [actionEntry("refresh", refresh), actionEntry("other", other)] })} />
            )
        );
        await flush();

        act(() => client().trigger(ORDER_CHANNEL, "refresh", payload));

        expect(refresh.calls).toEqual([
            { sender: "john", changedDate: new Date(payload.changedDate), data: "shipped" }
        ]);
        expect(other.calls).toEqual([]);
    });

    it("coalesces a burst of 50 notifications during an execution into exactly one extra run", async () => {
        const { wrap, client } = setupPage();
        const refresh = actionValue();
        const props = (action: RecordedAction): ListenContainerProps =>
            listenProps({ actions: [actionEntry("refresh", action)] });
        const { rerender } = render(wrap(<Listen {...props(refresh)} />));
        await flush();

        act(() => client().trigger(ORDER_CHANNEL, "refresh", { ...payload, data: "first" }));
        rerender(wrap(<Listen {...props(withFlags(refresh, { isExecuting: true }))} />));
        act(() => {
            for (let i = 0; i < 50; i++) {
                client().trigger(ORDER_CHANNEL, "refresh", { ...payload, data: `burst ${i}` });
            }
        });
        expect(refresh.calls).toHaveLength(1);

        rerender(wrap(<Listen {...props(withFlags(refresh, { isExecuting: false }))} />));
        expect(refresh.calls.map(call => call.data)).toEqual(["first", "burst 49"]);
        await flush(5 * SETTLE_MS);
        expect(refresh.calls).toHaveLength(2);
    });

    it("skips with a warning when the action cannot execute", async () => {
        const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
        const { wrap, client } = setupPage();
        const refresh = actionValue({ canExecute: false });
        render(wrap(<Listen {...listenProps({ actions: [actionEntry("refresh", refresh)] })} />));
        await flush();
        act(() => client().trigger(ORDER_CHANNEL, "refresh", payload));
        expect(refresh.calls).toHaveLength(0);
        expect(warn).toHaveBeenCalledTimes(1);
    });

    it("ignores own notifications when Ignore own notifications is on", async () => {
        setTestSession({ userName: "john" });
        const { wrap, client } = setupPage();
        const refresh = actionValue();
        render(wrap(<Listen {...listenProps({ ignoreOwn: true, actions: [actionEntry("refresh", refresh)] })} />));
        await flush();
        act(() => client().trigger(ORDER_CHANNEL, "refresh", payload));
        act(() => client().trigger(ORDER_CHANNEL, "refresh", { ...payload, sender: "mary" }));
        expect(refresh.calls.map(call => call.sender)).toEqual(["mary"]);
    });

    it("waits the configured delay before running the action", async () => {
        const { wrap, client } = setupPage();
        const refresh = actionValue();
        render(wrap(<Listen {...listenProps({ delay: 300, actions: [actionEntry("refresh", refresh)] })} />));
        await flush();
        act(() => client().trigger(ORDER_CHANNEL, "refresh", payload));
        await flush(299);
        expect(refresh.calls).toHaveLength(0);
        await flush(1);
        expect(refresh.calls).toHaveLength(1);
    });

    it("resubscribes when the object changes and stops hearing the old one", async () => {
        const { wrap, client } = setupPage();
        const refresh = actionValue();
        const actions = [actionEntry("refresh", refresh)];
        const { container, rerender } = render(wrap(<Listen {...listenProps({ actions })} />));
        await flush();

        rerender(wrap(<Listen {...listenProps({ actions, objectSource: objectSource("99", "Sales.Order") })} />));
        await flush();

        const pusher = client();
        expect(pusher.unsubscribed).toEqual([ORDER_CHANNEL]);
        expect(pusher.channels.has(ORDER_CHANNEL)).toBe(false);
        expect(statusElement(container).dataset.listenChannel).toBe("private-Sales.Order.99");
        expect(statusElement(container).dataset.listenState).toBe("listening");
        act(() => pusher.trigger("private-Sales.Order.99", "refresh", payload));
        expect(refresh.calls).toHaveLength(1);
        expect(pusher.disconnected).toBe(false);
    });

    it("resubscribes when the Topic expression changes", async () => {
        const { wrap, client } = setupPage();
        const { container, rerender } = render(wrap(<Listen {...listenProps({ topic: dynamic("orders.A") })} />));
        await flush();
        rerender(wrap(<Listen {...listenProps({ topic: dynamic("orders.B") })} />));
        await flush();
        expect(client().unsubscribed).toEqual(["private-orders.A"]);
        expect(statusElement(container).dataset.listenChannel).toBe("private-orders.B");
    });

    it("cleans up on unmount: no handlers, no timers, no socket when it was the last widget", async () => {
        const { wrap, client, manager } = setupPage();
        const { unmount } = render(wrap(<Listen {...listenProps({ delay: 500 })} />));
        await flush();
        const pusher = client();
        const channel = pusher.channels.get(ORDER_CHANNEL);
        act(() => pusher.trigger(ORDER_CHANNEL, "refresh", payload));
        expect(vi.getTimerCount()).toBe(1);

        unmount();
        await flush();
        expect(channel?.handlerCount).toBe(0);
        expect(pusher.unsubscribed).toEqual([ORDER_CHANNEL]);
        // The socket lingers for a grace period (a data view switching objects reuses it), then closes.
        expect(pusher.disconnected).toBe(false);
        await flush(LINGER_MS);

        expect(pusher.disconnected).toBe(true);
        expect(manager.connectionCount).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
    });

    it("shares one connection among several widgets; the page disconnects after the last one", async () => {
        const { wrap, pushers, server, client } = setupPage();
        const { unmount, rerender } = render(
            wrap(
                <>
                    <Listen {...listenProps({ name: "a" })} />
                    <Listen {...listenProps({ name: "b" })} />
                    <Listen {...listenProps({ name: "c", objectSource: objectSource("2", "Sales.Customer") })} />
                </>
            )
        );
        await flush();
        expect(pushers.clients).toHaveLength(1);
        expect(server.requests.filter(request => request.url.endsWith("/rest/pusher/key"))).toHaveLength(1);
        expect(client().authorizations).toEqual([ORDER_CHANNEL, "private-Sales.Customer.2"]);

        rerender(wrap(<Listen {...listenProps({ name: "a" })} />));
        expect(client().disconnected).toBe(false);
        expect(client().unsubscribed).toEqual(["private-Sales.Customer.2"]);
        await flush();
        expect(client().disconnected).toBe(false);
        unmount();
        await flush(LINGER_MS);
        expect(client().disconnected).toBe(true);
        expect(pushers.clients).toHaveLength(1);
    });

    it("keeps the socket when the data view switches objects through 'loading'", async () => {
        const { wrap, pushers, client } = setupPage();
        const { container, rerender } = render(wrap(<Listen {...listenProps()} />));
        await flush();
        rerender(wrap(<Listen {...listenProps({ objectSource: loading() })} />));
        await flush(60);
        expect(statusElement(container).dataset.listenState).toBe("loading");
        rerender(wrap(<Listen {...listenProps({ objectSource: objectSource("281474976710658", "Sales.Order") })} />));
        await flush();
        expect(pushers.clients).toHaveLength(1);
        expect(client().disconnected).toBe(false);
        expect(client().connectCalls).toBe(1);
        expect(client().unsubscribed).toEqual([ORDER_CHANNEL]);
        expect(statusElement(container).dataset.listenState).toBe("listening");
        expect(statusElement(container).dataset.listenChannel).toBe("private-Sales.Order.281474976710658");
    });

    it("shows 'not signed in' inline and in the console when auth answers 401", async () => {
        const { wrap } = setupPage({
            auth: () => json({ error: { code: "not_authenticated", message: "No session" } }, 401)
        });
        const { container } = render(wrap(<Listen {...listenProps()} />));
        await flush();
        const alert = screen.getByRole("alert");
        expect(alert.textContent).toMatch(/you are not signed in/);
        expect(alert.classList.contains("widget-listen-error")).toBe(true);
        expect(statusElement(container).dataset.listenState).toBe("error");
        expect(consoleError).toHaveBeenCalledWith(
            expect.stringMatching(/Listen widget "listen1": .*you are not signed in/)
        );
    });

    it("shows 'you may not listen to this object' when auth answers 403", async () => {
        const { wrap } = setupPage({ auth: () => json({ error: { code: "forbidden" } }, 403) });
        render(wrap(<Listen {...listenProps()} />));
        await flush();
        expect(screen.getByRole("alert").textContent).toMatch(/you may not listen to this object/);
    });

    it("shows a 5xx auth failure while retrying with backoff, and hides it once subscribed", async () => {
        let failures = 2;
        const { wrap, client } = setupPage({
            auth: () =>
                failures-- > 0 ? json({ error: { code: "access_check_unavailable" } }, 503) : json({ auth: "k:sig" })
        });
        const { container } = render(wrap(<Listen {...listenProps()} />));
        await flush();
        expect(screen.getByRole("alert").textContent).toMatch(
            /cannot authorize listening right now \(HTTP 503.*Trying again in 1 s/
        );
        expect(statusElement(container).dataset.listenState).toBe("retrying");

        await flush(1000);
        expect(screen.getByRole("alert").textContent).toMatch(/Trying again in 2 s/);
        await flush(2000);
        expect(screen.queryByRole("alert")).toBeNull();
        expect(statusElement(container).dataset.listenState).toBe("listening");
        expect(client().authorizations).toHaveLength(3);
    });

    it("shows key endpoint failures inline", async () => {
        const { wrap } = setupPage({ key: () => new Response("Not Found", { status: 404 }) });
        render(wrap(<Listen {...listenProps()} />));
        await flush();
        expect(screen.getByRole("alert").textContent).toMatch(
            /answered HTTP 404 to http:\/\/localhost(:\d+)?\/rest\/pusher\/key/
        );
    });

    it("asks for the Topic property when the entity of the object is unknown, without connecting", async () => {
        const { wrap, pushers, server } = setupPage();
        render(wrap(<Listen {...listenProps({ objectSource: objectSource("5") })} />));
        await flush();
        expect(screen.getByRole("alert").textContent).toMatch(/set the Topic property/);
        expect(pushers.clients).toHaveLength(0);
        expect(server.requests).toHaveLength(0);
    });

    it("rejects an invalid topic", async () => {
        const { wrap, pushers } = setupPage();
        render(wrap(<Listen {...listenProps({ topic: dynamic("orders/42") })} />));
        await flush();
        expect(screen.getByRole("alert").textContent).toMatch(/"orders\/42" contains characters that are not allowed/);
        expect(pushers.clients).toHaveLength(0);
    });

    it("rejects duplicate action names", async () => {
        const { wrap, pushers } = setupPage();
        render(
            wrap(
                <Listen
                    {...listenProps({
                        actions: [actionEntry("refresh", actionValue()), actionEntry("refresh", actionValue())]
                    })}
                />
            )
        );
        await flush();
        expect(screen.getByRole("alert").textContent).toMatch(/"refresh" is used more than once/);
        expect(pushers.clients).toHaveLength(0);
    });

    it("rejects a Server URL that is not http(s)", async () => {
        const { wrap } = setupPage();
        render(wrap(<Listen {...listenProps({ serverUrl: "ws://notify.example.com" })} />));
        await flush();
        expect(screen.getByRole("alert").textContent).toMatch(/must start with https:\/\/ or http:\/\//);
    });

    it("uses the Server URL for both endpoints and sends cookies cross-origin", async () => {
        const { wrap, server } = setupPage();
        render(wrap(<Listen {...listenProps({ serverUrl: "https://notify.example.com/" })} />));
        await flush();
        expect(
            server.requests.map(request => [request.url, request.credentials, request.headers["x-csrf-token"]])
        ).toEqual([
            ["https://notify.example.com/rest/pusher/key", "include", "csrf-from-session"],
            ["https://notify.example.com/rest/pusher/auth", "include", "csrf-from-session"]
        ]);
    });

    it("runs On connection lost when the interruption shows, then the missed action and On reconnected", async () => {
        let catchup: unknown = { epoch: "e1", seq: 100 };
        const { wrap, client } = setupPage({
            auth: () => json({ auth: "app-key:signature", catchup })
        });
        const refresh = actionValue();
        const lost: unknown[] = [];
        const reconnected: unknown[] = [];
        const lifecycle = (calls: unknown[]) =>
            ({ canExecute: true, isExecuting: false, execute: (args?: unknown) => calls.push(args) }) as never;
        render(
            wrap(
                <Listen
                    {...listenProps({
                        actions: [actionEntry("refresh", refresh)],
                        onConnectionLost: lifecycle(lost),
                        onReconnected: lifecycle(reconnected)
                    })}
                />
            )
        );
        await flush();
        catchup = {
            epoch: "e1",
            seq: 300,
            missed: [{ ...payload, actionName: "refresh", data: "missed", seq: 200, epoch: "e1" }]
        };
        client().reachable = false;
        act(() => client().drop(1006));
        await flush(3_000);
        expect(lost).toEqual([]);
        await flush(1_000);
        expect(lost).toEqual([undefined]);
        expect(refresh.calls).toEqual([]);

        client().reachable = true;
        await flush(4_000);
        expect(refresh.calls.map(call => call.data)).toEqual(["missed"]);
        expect(reconnected).toHaveLength(1);
        const { offlineSeconds, mayHaveLost } = reconnected[0] as { offlineSeconds: Big; mayHaveLost: boolean };
        expect(offlineSeconds).toBeInstanceOf(Big);
        expect(offlineSeconds.toNumber()).toBeGreaterThanOrEqual(4);
        expect(offlineSeconds.toNumber()).toBeLessThanOrEqual(8);
        expect(mayHaveLost).toBe(false);
        expect(lost).toHaveLength(1);
    });

    it("stays idle without an object to listen to", async () => {
        const { wrap, pushers } = setupPage();
        const { container } = render(wrap(<Listen {...listenProps({ objectSource: unavailable() })} />));
        await flush();
        expect(statusElement(container).dataset.listenState).toBe("idle");
        expect(pushers.clients).toHaveLength(0);
    });
});
