import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startFakeAccess, type FakeAccess } from "./fake-access";
import { answer, postForm, startServer, waitFor, type TestServer } from "./helpers";

describe("graceful close()", () => {
    let server: TestServer | undefined;
    let access: FakeAccess | undefined;
    let socket: WebSocket | undefined;

    afterAll(async () => {
        socket?.terminate();
        await server?.close();
        await access?.close();
    });

    it("finishes in-flight requests (including a notify through the broker), then closes WebSockets with 4200", async () => {
        access = await startFakeAccess("allow");
        access.delayMs = 300;
        let slowStarted = false;
        const holder: { server?: TestServer } = {};
        server = await startServer(
            { MENDIX_APP_URL: access.url, MENDIX_TIMEOUT_MS: "2000" },
            {
                extend: app => {
                    app.get("/slow", async (_req, res) => {
                        slowStarted = true;
                        await new Promise(resolve => setTimeout(resolve, 300));
                        // What a notify does: hand the notification to the broker (in-process, embedded mode).
                        await holder.server!.running.trigger.one({
                            channel: "private-Slow.Topic",
                            action: "refresh",
                            data: JSON.stringify({
                                entity: "",
                                guid: "",
                                changedDate: new Date().toISOString(),
                                sender: ""
                            })
                        });
                        res.json({ done: true, eventsIn: holder.server!.running.broker!.stats().eventsIn });
                    });
                }
            }
        );
        holder.server = server;
        const running = server.running;
        const broker = running.broker!;

        socket = new WebSocket(
            `${server.url.replace("http", "ws")}/app/${broker.key}?protocol=7&client=test&version=1`
        );
        const closed = new Promise<{ code: number; reason: string }>(resolve => {
            socket!.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
        });
        await waitFor(() => broker.stats().connections === 1, 3000, "the WebSocket connection");

        const slow = answer(fetch(`${server.url}/slow`));
        const auth = answer(
            postForm(`${server.url}/rest/pusher/auth`, { socket_id: "1.1", channel_name: "private-Slow.Topic" })
        );
        await waitFor(() => slowStarted && access!.requests.length === 1, 3000, "both requests to be in flight");

        const started = Date.now();
        const closing = running.close();
        expect(running.close()).toBe(closing);
        await waitFor(() => !running.server.listening, 1000, "the server to stop listening");
        // The WebSocket stays open while requests are in flight.
        expect(socket.readyState).toBe(WebSocket.OPEN);

        expect(await slow).toEqual({ status: 200, body: { done: true, eventsIn: 1 } });
        expect((await auth).status).toBe(200);
        await closing;
        expect(Date.now() - started).toBeLessThan(3000);
        expect(await closed).toEqual({ code: 4200, reason: "server restarting" });
        expect(broker.stats().connections).toBe(0);
        await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    });
});
