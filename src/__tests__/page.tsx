/**
 * A page for Listen widget tests: one connection manager over fake pusher-js clients and a fake server (fakes.ts),
 * the provider that hands it to every widget, and fake-time flushing.
 */
import { act } from "@testing-library/react";
import type { ReactElement } from "react";
import { vi } from "vitest";
import { createConnectionManager } from "../connection/manager";
import { ConnectionManagerContext } from "../hooks/connectionContext";
import { fakeFetch, fakePusherFactory, type FakePusher } from "./fakes";

export function setupPage(responders: Parameters<typeof fakeFetch>[0] = {}, csrfToken = "csrf-from-session") {
    const pushers = fakePusherFactory();
    const server = fakeFetch(responders);
    const manager = createConnectionManager({
        createPusher: pushers.create,
        fetch: server.fetch,
        getCsrfToken: () => csrfToken,
        // No jitter: the reconnect checks run at their nominal times, so timed steps do not race them.
        random: () => 0.5
    });
    const wrap = (element: ReactElement): ReactElement => (
        <ConnectionManagerContext.Provider value={manager}>{element}</ConnectionManagerContext.Provider>
    );
    const client = (): FakePusher => {
        const found = pushers.clients[0];
        if (found === undefined) {
            throw new Error("no pusher client was created");
        }
        return found;
    };
    return { manager, pushers, server, wrap, client };
}

/** Advances fake time and lets promises and React updates settle. */
export async function flush(ms = 0): Promise<void> {
    await act(async () => {
        await vi.advanceTimersByTimeAsync(ms);
    });
}
