/**
 * The trace hook of protocol/trace.ts: every decision about a notification reaches the page as a DOM event on
 * `document`, naming the widget and its channel, and the widget acts the same whether anyone listens or not.
 */
import { act, render } from "@testing-library/react";
import type { ReactElement } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DISPATCH_EVENT, type DispatchEventDetail } from "../../../protocol/trace";
import { actionEntry, actionValue, listenProps, objectSource } from "../../__tests__/builders";
import { fakeFetch, fakePusherFactory } from "../../__tests__/fakes";
import { createConnectionManager } from "../../connection/manager";
import { Listen } from "../../Listen";
import { ConnectionManagerContext } from "../connectionContext";

const ORDER_1 = "281474976710657";
const ORDER_2 = "281474976710658";
const payload = { entity: "Sales.Order", guid: ORDER_1, changedDate: "2026-11-24T10:00:00.000Z", sender: "mary" };

function setup() {
    const pushers = fakePusherFactory();
    const server = fakeFetch();
    const manager = createConnectionManager({
        createPusher: pushers.create,
        fetch: server.fetch,
        getCsrfToken: () => "csrf"
    });
    const wrap = (element: ReactElement): ReactElement => (
        <ConnectionManagerContext.Provider value={manager}>{element}</ConnectionManagerContext.Provider>
    );
    return { pushers, wrap };
}

async function flush(): Promise<void> {
    await act(async () => {
        await vi.advanceTimersByTimeAsync(0);
    });
}

describe("Listen trace events", () => {
    const seen: DispatchEventDetail[] = [];
    const listener = (event: Event): void => {
        seen.push((event as CustomEvent<DispatchEventDetail>).detail);
    };

    beforeEach(() => {
        vi.useFakeTimers();
        seen.length = 0;
        document.addEventListener(DISPATCH_EVENT, listener);
    });
    afterEach(() => {
        document.removeEventListener(DISPATCH_EVENT, listener);
        vi.useRealTimers();
    });

    it("names the widget, the channel and the decision for every notification", async () => {
        const { pushers, wrap } = setup();
        const refresh = actionValue();
        const props = (guid: string) =>
            listenProps({
                name: "orderListen",
                objectSource: objectSource(guid, "Sales.Order"),
                actions: [actionEntry("refresh", refresh)]
            });
        const { rerender } = render(wrap(<Listen {...props(ORDER_1)} />));
        await flush();
        const client = pushers.clients[0]!;

        act(() => client.trigger(`private-Sales.Order.${ORDER_1}`, "refresh", { ...payload, data: "one" }));
        act(() => client.trigger(`private-Sales.Order.${ORDER_1}`, "typo", { ...payload, data: "two" }));
        expect(seen.map(detail => [detail.widget, detail.channel, detail.trace.action, detail.trace.outcome])).toEqual([
            ["orderListen", `private-Sales.Order.${ORDER_1}`, "refresh", "ran"],
            ["orderListen", `private-Sales.Order.${ORDER_1}`, "typo", "unknown-action"]
        ]);
        expect(seen[0].trace).toMatchObject({ run: 1, args: { sender: "mary", data: "one" } });
        expect(refresh.calls.map(call => call.data)).toEqual(["one"]);

        // The data view shows another object: the events name the new channel.
        rerender(wrap(<Listen {...props(ORDER_2)} />));
        await flush();
        act(() =>
            client.trigger(`private-Sales.Order.${ORDER_2}`, "refresh", { ...payload, guid: ORDER_2, data: "three" })
        );
        expect(seen.at(-1)).toMatchObject({
            widget: "orderListen",
            channel: `private-Sales.Order.${ORDER_2}`,
            trace: { action: "refresh", outcome: "ran", run: 1 }
        });
    });
});
