/**
 * The real Listen widget (real useListen hook, real ConnectionManager, real pusher-js) against the REAL companion
 * server with its embedded broker on 127.0.0.1: the widget loads /rest/pusher/key, opens a WebSocket, authorizes
 * its private channel through /rest/pusher/auth (the server asks a small fake Mendix access check, which records
 * what the widget forwarded), and runs its action after a real `POST /rest/pusher/notify`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { act, render, screen, waitFor } from "@testing-library/react";
import type { ReactElement } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp, type RunningApp } from "../../../server/app";
import { loadConfig } from "../../../server/config";
import { actionEntry, actionValue, listenProps, objectSource } from "../../__tests__/builders";
import { setTestSession } from "../../__tests__/shims/mendixSession";
import { Listen } from "../../Listen";
import { createConnectionManager, type ConnectionManager } from "../../connection/manager";
import { ConnectionManagerContext } from "../connectionContext";

const API_KEY = "integration-test-api-key-0123456789abcdef";
const ORDER_GUID = "281474976710657";
const FORBIDDEN_GUID = "281474976710999";

interface AccessCall {
    csrfToken: string | undefined;
    body: { channel?: string; topic?: string };
}

/** A tiny stand-in for the Mendix app's access check: allows everything except FORBIDDEN_GUID. */
function startAccessCheck(): Promise<{ url: string; calls: AccessCall[]; close(): Promise<void> }> {
    const calls: AccessCall[] = [];
    const server = http.createServer((req, res) => {
        let raw = "";
        req.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
        req.on("end", () => {
            if (req.method !== "POST" || req.url !== "/rest/notifylisten/v1/access") {
                res.writeHead(404).end();
                return;
            }
            const body = JSON.parse(raw) as AccessCall["body"];
            const token = req.headers["x-csrf-token"];
            calls.push({ csrfToken: typeof token === "string" ? token : undefined, body });
            const allowed = !(body.topic ?? "").endsWith(FORBIDDEN_GUID);
            res.writeHead(allowed ? 200 : 403, { "Content-Type": "application/json" });
            res.end(JSON.stringify(allowed ? { user: "tester" } : { error: "forbidden" }));
        });
    });
    return new Promise(resolve => {
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo;
            resolve({
                url: `http://127.0.0.1:${port}`,
                calls,
                close: () =>
                    new Promise<void>(done => {
                        server.closeAllConnections();
                        server.close(() => done());
                    })
            });
        });
    });
}

async function notify(baseUrl: string, body: Record<string, unknown>): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${baseUrl}/rest/pusher/notify`, {
        method: "POST",
        headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(body)
    });
    return { status: response.status, json: await response.json() };
}

/** A short grace period before the last widget out disconnects, to keep this test fast (the default is unit-tested). */
const LINGER_MS = 20;

describe("useListen with the real companion server and embedded broker", () => {
    let app: RunningApp;
    let baseUrl: string;
    let access: Awaited<ReturnType<typeof startAccessCheck>>;
    let manager: ConnectionManager;

    beforeAll(async () => {
        access = await startAccessCheck();
        const config = loadConfig({
            NODE_ENV: "test",
            LOG_LEVEL: "silent",
            PLAYGROUND: "false",
            NOTIFY_API_KEY: API_KEY,
            CORS_ORIGINS: "*"
        });
        app = await createApp(config, { accessCheckUrl: access.url });
        baseUrl = await app.listen(0, "127.0.0.1");
    });

    afterEach(async () => {
        vi.restoreAllMocks();
    });

    afterAll(async () => {
        await app?.close();
        await access?.close();
    });

    function wrap(element: ReactElement): ReactElement {
        return <ConnectionManagerContext.Provider value={manager}>{element}</ConnectionManagerContext.Provider>;
    }

    function state(container: HTMLElement): string | undefined {
        return container.querySelector<HTMLElement>("[data-listen-state]")?.dataset.listenState;
    }

    it("subscribes through the server and runs the action after POST /rest/pusher/notify", async () => {
        manager = createConnectionManager({ lingerMs: LINGER_MS });
        setTestSession({ csrfToken: "csrf-integration-1", userName: "tester" });
        const refresh = actionValue();
        const ignored = actionValue();
        const { container, unmount } = render(
            wrap(
                <Listen
                    {...listenProps({
                        serverUrl: baseUrl,
                        objectSource: objectSource(ORDER_GUID, "Sales.Order"),
                        actions: [actionEntry("refresh", refresh), actionEntry("other", ignored)]
                    })}
                />
            )
        );

        await waitFor(() => expect(state(container)).toBe("listening"), { timeout: 5000 });
        const channel = `private-Sales.Order.${ORDER_GUID}`;
        expect(container.querySelector<HTMLElement>("[data-listen-channel]")?.dataset.listenChannel).toBe(channel);
        expect(access.calls).toContainEqual({
            csrfToken: "csrf-integration-1",
            body: expect.objectContaining({ channel, topic: `Sales.Order.${ORDER_GUID}` })
        });

        const answer = await notify(baseUrl, {
            entity: "Sales.Order",
            guid: ORDER_GUID,
            action: "refresh",
            sender: "john",
            changedDate: "2026-11-24T10:00:00.000Z",
            data: "status=shipped"
        });
        expect(answer).toEqual({ status: 200, json: { triggered: 1, channels: [channel] } });

        await waitFor(() => expect(refresh.calls).toHaveLength(1), { timeout: 5000 });
        expect(refresh.calls[0]).toEqual({
            sender: "john",
            changedDate: new Date("2026-11-24T10:00:00.000Z"),
            data: "status=shipped"
        });
        expect(ignored.calls).toHaveLength(0);

        // Topic form of notify reaches the same widget; a notification for another object does not.
        await notify(baseUrl, { topic: "Sales.Order.1", action: "refresh" });
        await notify(baseUrl, { topic: `Sales.Order.${ORDER_GUID}`, action: "refresh", data: "again" });
        await waitFor(() => expect(refresh.calls.map(call => call.data)).toEqual(["status=shipped", "again"]), {
            timeout: 5000
        });

        unmount();
        await act(async () => {
            await new Promise(resolve => setTimeout(resolve, LINGER_MS + 50));
        });
        expect(manager.connectionCount).toBe(0);
    });

    it("shows the server's 403 inline when the access check refuses the object", async () => {
        manager = createConnectionManager({ lingerMs: LINGER_MS });
        const consoleError = vi.spyOn(console, "error").mockImplementation(() => undefined);
        const { container, unmount } = render(
            wrap(
                <Listen
                    {...listenProps({
                        serverUrl: baseUrl,
                        objectSource: objectSource(FORBIDDEN_GUID, "Sales.Order")
                    })}
                />
            )
        );
        await waitFor(() => expect(state(container)).toBe("error"), { timeout: 5000 });
        expect(screen.getByRole("alert").textContent).toMatch(/you may not listen to this object/);
        expect(consoleError).toHaveBeenCalledWith(expect.stringMatching(/you may not listen to this object/));
        unmount();
        await act(async () => {
            await new Promise(resolve => setTimeout(resolve, LINGER_MS + 50));
        });
        expect(manager.connectionCount).toBe(0);
    });
});
