import { act, render } from "@testing-library/react";
import type Big from "big.js";
import type { ActionValue } from "mendix";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ListenContainerProps } from "../../typings/ListenProps";
import { Listen } from "../Listen";
import { actionEntry, actionValue, dynamic, listenProps, objectSource } from "./builders";
import { setupPage, flush } from "./page";
import { resetTestSession, setTestSession } from "./shims/mendixSession";

const ORDER_CHANNEL = "private-Sales.Order.281474976710657";
const PRESENCE_CHANNEL = "presence-Sales.Order.281474976710657";
const payload = { entity: "", guid: "", changedDate: "2026-12-01T12:00:00.000Z", sender: "system", data: "export-42" };

type ViewersVariables = { count: Big | undefined; names: string | undefined };

/** An On viewers changed action whose runs are recorded as [count, names]. */
function viewersAction(): ActionValue<ViewersVariables> & { runs: Array<[number | undefined, string | undefined]> } {
    const runs: Array<[number | undefined, string | undefined]> = [];
    return {
        canExecute: true,
        isExecuting: false,
        runs,
        execute(args: ViewersVariables) {
            runs.push([args.count?.toNumber(), args.names]);
        }
    } as ActionValue<ViewersVariables> & { runs: Array<[number | undefined, string | undefined]> };
}

function viewerNames(container: HTMLElement): string[] {
    return [...container.querySelectorAll(".widget-listen-viewers .widget-listen-viewer")].map(
        item => item.textContent ?? ""
    );
}

function presenceProps(overrides: Partial<ListenContainerProps> = {}): ListenContainerProps {
    return listenProps({ showViewers: true, viewersCaption: dynamic("Also viewing:"), ...overrides });
}

describe("Listen widget: Show who else is viewing", () => {
    beforeEach(() => {
        vi.useFakeTimers();
        setTestSession({ userName: "john" });
        vi.spyOn(console, "error").mockImplementation(() => undefined);
    });
    afterEach(() => {
        resetTestSession();
        vi.useRealTimers();
        vi.restoreAllMocks();
    });

    it("listens to the object's presence channel beside its action channel, on the same connection", async () => {
        const { wrap, pushers, client } = setupPage();
        render(wrap(<Listen {...presenceProps()} />));
        await flush();
        expect(pushers.clients).toHaveLength(1);
        expect([...client().channels.keys()].sort()).toEqual([PRESENCE_CHANNEL, ORDER_CHANNEL]);
        expect(client().authorizations).toContain(PRESENCE_CHANNEL);
    });

    it("does not join the presence channel unless Show who else is viewing is on", async () => {
        const { wrap, client } = setupPage();
        render(wrap(<Listen {...listenProps()} />));
        await flush();
        expect([...client().channels.keys()]).toEqual([ORDER_CHANNEL]);
    });

    it("lists the other viewers by name, without the current user, and nothing while nobody else is there", async () => {
        const { wrap, client, pushers } = setupPage();
        const { container } = render(wrap(<Listen {...presenceProps()} />));
        await flush();
        act(() => client().memberAdded(PRESENCE_CHANNEL, "john", { name: "John Smith" }));
        expect(container.querySelector(".widget-listen-viewers")).toBeNull();
        expect(container.querySelector<HTMLElement>("[data-listen-state]")?.hidden).toBe(true);

        act(() => client().memberAdded(PRESENCE_CHANNEL, "mary", { name: "Mary Jones" }));
        const list = container.querySelector<HTMLElement>(".widget-listen.widget-listen-viewers");
        expect(list?.textContent).toBe("Also viewing:Mary Jones");
        expect(list?.dataset.listenState).toBe("listening");
        expect(viewerNames(container)).toEqual(["Mary Jones"]);

        act(() => client().memberAdded(PRESENCE_CHANNEL, "ann", { name: "Ann Lee" }));
        expect(viewerNames(container)).toEqual(["Ann Lee", "Mary Jones"]);

        act(() => client().memberRemoved(PRESENCE_CHANNEL, "mary"));
        act(() => client().memberRemoved(PRESENCE_CHANNEL, "ann"));
        expect(container.querySelector(".widget-listen-viewers")).toBeNull();
        expect(pushers.clients).toHaveLength(1);
    });

    it("shows the viewers who were there before the widget joined, once Show who else is viewing turns on", async () => {
        const { wrap, client } = setupPage();
        const { container, rerender } = render(wrap(<Listen {...presenceProps({ showViewers: false })} />));
        await flush();
        // The broker's members before this page's presence subscription.
        client().presence.set(PRESENCE_CHANNEL, { john: { name: "John" }, mary: { name: "Mary Jones" } });
        rerender(wrap(<Listen {...presenceProps()} />));
        await flush();
        expect(viewerNames(container)).toEqual(["Mary Jones"]);
    });

    it("runs On viewers changed with Count and Names whenever the set of other viewers changes", async () => {
        const { wrap, client } = setupPage();
        const onViewersChanged = viewersAction();
        render(wrap(<Listen {...presenceProps({ onViewersChanged })} />));
        await flush();
        act(() => client().memberAdded(PRESENCE_CHANNEL, "john", { name: "John Smith" }));
        expect(onViewersChanged.runs).toEqual([]);

        act(() => client().memberAdded(PRESENCE_CHANNEL, "mary", { name: "Mary Jones" }));
        act(() => client().memberAdded(PRESENCE_CHANNEL, "peter", { name: "Peter Smith" }));
        // The same member again (pusher-js hears it when another server repeats it): no change, no run.
        act(() => client().memberAdded(PRESENCE_CHANNEL, "peter", { name: "Peter Smith" }));
        act(() => client().memberRemoved(PRESENCE_CHANNEL, "mary"));
        act(() => client().memberRemoved(PRESENCE_CHANNEL, "peter"));
        expect(onViewersChanged.runs).toEqual([
            [1, "Mary Jones"],
            [2, "Mary Jones, Peter Smith"],
            [1, "Peter Smith"],
            [0, ""]
        ]);
    });

    it("tells On viewers changed that nobody is there after the data view switches to an object nobody else views", async () => {
        const { wrap, client } = setupPage();
        const onViewersChanged = viewersAction();
        const { rerender } = render(wrap(<Listen {...presenceProps({ onViewersChanged })} />));
        await flush();
        act(() => client().memberAdded(PRESENCE_CHANNEL, "mary", { name: "Mary Jones" }));
        rerender(
            wrap(<Listen {...presenceProps({ onViewersChanged, objectSource: objectSource("2", "Sales.Order") })} />)
        );
        await flush();
        expect(client().channels.has("presence-Sales.Order.2")).toBe(true);
        expect(onViewersChanged.runs).toEqual([
            [1, "Mary Jones"],
            [0, ""]
        ]);
    });

    it("shares one presence subscription between two widgets on the same object, until the last one leaves", async () => {
        const { wrap, client } = setupPage();
        const first = render(wrap(<Listen {...presenceProps({ name: "listen1" })} />));
        await flush();
        act(() => client().memberAdded(PRESENCE_CHANNEL, "mary", { name: "Mary Jones" }));
        const second = render(wrap(<Listen {...presenceProps({ name: "listen2" })} />));
        await flush();
        // The second widget hears the members the connection already knows.
        expect(viewerNames(second.container)).toEqual(["Mary Jones"]);
        expect(client().authorizations.filter(channel => channel === PRESENCE_CHANNEL)).toHaveLength(1);

        first.unmount();
        await flush();
        expect(client().channels.has(PRESENCE_CHANNEL)).toBe(true);
        second.unmount();
        await flush();
        expect(client().unsubscribed).toContain(PRESENCE_CHANNEL);
    });

    it("shows why when the server refuses the presence channel", async () => {
        const { wrap, server } = setupPage();
        server.responders.auth = request =>
            new URLSearchParams(request.body ?? "").get("channel_name") === PRESENCE_CHANNEL
                ? new Response(JSON.stringify({ error: { code: "forbidden", message: "no" } }), { status: 403 })
                : new Response(JSON.stringify({ auth: "app-key:sig" }), { status: 200 });
        const { container } = render(wrap(<Listen {...presenceProps()} />));
        await flush();
        const alert = container.querySelector<HTMLElement>("[role=alert]");
        expect(alert?.textContent).toMatch(/you may not listen to this object/);
    });
});

describe("Listen widget: the current user's notifications and broadcasts", () => {
    beforeEach(() => {
        vi.useFakeTimers();
        vi.spyOn(console, "error").mockImplementation(() => undefined);
    });
    afterEach(() => {
        resetTestSession();
        vi.useRealTimers();
        vi.restoreAllMocks();
    });

    it("listens to the current user's channel without an object, and runs the action with the payload", async () => {
        setTestSession({ userName: "Mary Jones" });
        const { wrap, client } = setupPage();
        const ready = actionValue();
        const { container } = render(
            wrap(
                <Listen
                    {...listenProps({
                        listenTo: "user",
                        objectSource: undefined,
                        actions: [actionEntry("exportReady", ready)]
                    })}
                />
            )
        );
        await flush();
        const status = container.querySelector<HTMLElement>("[data-listen-state]");
        expect(status?.dataset.listenState).toBe("listening");
        expect(status?.dataset.listenChannel).toBe("private-user-Mary=20Jones");
        act(() => client().trigger("private-user-Mary=20Jones", "exportReady", payload));
        expect(ready.calls).toEqual([
            { sender: "system", changedDate: new Date(payload.changedDate), data: "export-42" }
        ]);
    });

    it("listens to a broadcast by name, and ignores an object source, a Topic and Show who else is viewing", async () => {
        const { wrap, client } = setupPage();
        const banner = actionValue();
        const { container } = render(
            wrap(
                <Listen
                    {...listenProps({
                        listenTo: "broadcast",
                        broadcastName: "maintenance",
                        topic: dynamic("Sales.Order.1"),
                        showViewers: true,
                        actions: [actionEntry("show", banner)]
                    })}
                />
            )
        );
        await flush();
        expect([...client().channels.keys()]).toEqual(["private-broadcast-maintenance"]);
        expect(container.querySelector<HTMLElement>("[data-listen-state]")?.dataset.listenState).toBe("listening");
        act(() => client().trigger("private-broadcast-maintenance", "show", { ...payload, data: "22:00" }));
        expect(banner.calls.map(call => call.data)).toEqual(["22:00"]);
    });

    it("shows an inline error for an invalid broadcast name", async () => {
        const { wrap, pushers } = setupPage();
        const { container } = render(wrap(<Listen {...listenProps({ listenTo: "broadcast", broadcastName: "" })} />));
        await flush();
        expect(container.querySelector("[role=alert]")?.textContent).toMatch(/broadcast name is empty/);
        expect(pushers.clients).toHaveLength(0);
    });
});
