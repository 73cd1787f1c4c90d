/**
 * Protocol-level behaviour of the broker seen from a raw `ws` client (no pusher-js): handshake refusals,
 * malformed frames, ping/pong, the server-side activity check and upgrade paths.
 */
import http from "http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelAuthToken } from "../../server/broker";
import {
    type BrokerServer,
    openEstablishedSocket,
    openRawSocket,
    type RawSocket,
    startBrokerServer,
    waitFor
} from "./helpers";

let broker: BrokerServer;

beforeAll(async () => {
    // Public channels (opt-in, off by default) keep the frame tests free of signatures.
    broker = await startBrokerServer({ maxConnections: 5, publicChannels: true });
});

afterAll(async () => {
    await broker.close();
});

async function withSocket<T>(url: string, run: (socket: RawSocket & { socketId: string }) => Promise<T>): Promise<T> {
    const socket = await openEstablishedSocket(url);
    try {
        return await run(socket);
    } finally {
        await socket.close();
    }
}

describe("handshake", () => {
    it("sends connection_established with a socket id and the activity timeout as a JSON string", async () => {
        const socket = await openRawSocket(broker.wsUrl);
        const frame = await socket.next();
        expect(frame.event).toBe("pusher:connection_established");
        expect(frame.data).toEqual({ socket_id: expect.stringMatching(/^\d+\.\d+$/), activity_timeout: 120 });
        const raw = await new Promise<string>(resolve => {
            socket.ws.once("message", data => resolve(data.toString()));
            socket.send({ event: "pusher:ping", data: {} });
        });
        expect(JSON.parse(raw)).toEqual({ event: "pusher:pong", data: "{}" });
        await socket.close();
    });

    it("refuses an unknown app key with pusher:error 4001 and close code 4001", async () => {
        const socket = await openRawSocket(`ws://127.0.0.1:${broker.port}/app/nope?protocol=7`);
        expect(await socket.next()).toEqual({
            event: "pusher:error",
            data: { code: 4001, message: expect.stringMatching(/not found/) }
        });
        expect((await socket.closed).code).toBe(4001);
    });

    it.each([
        ["missing", ""],
        ["too old", "protocol=4"],
        ["too new", "protocol=8"],
        ["not a number", "protocol=seven"]
    ])("refuses a %s protocol version with 4007", async (_label, query) => {
        const socket = await openRawSocket(`ws://127.0.0.1:${broker.port}/app/${broker.key}?${query}`);
        expect(await socket.next()).toEqual({ event: "pusher:error", data: expect.objectContaining({ code: 4007 }) });
        expect((await socket.closed).code).toBe(4007);
    });

    it("refuses connections over maxConnections with 4100 and accepts again once below", async () => {
        const sockets = await Promise.all(Array.from({ length: 5 }, () => openEstablishedSocket(broker.wsUrl)));
        const extra = await openRawSocket(broker.wsUrl);
        expect(await extra.next()).toEqual({ event: "pusher:error", data: expect.objectContaining({ code: 4100 }) });
        expect((await extra.closed).code).toBe(4100);
        await sockets[0].close();
        await waitFor(() => broker.broker.stats().connections === 4);
        const again = await openEstablishedSocket(broker.wsUrl);
        expect(again.socketId).toMatch(/^\d+\.\d+$/);
        await Promise.all([again, ...sockets].map(socket => socket.close()));
        await waitFor(() => broker.broker.stats().connections === 0);
    });

    it("answers other upgrade paths with HTTP 400", async () => {
        await expect(openRawSocket(`ws://127.0.0.1:${broker.port}/socket?protocol=7`)).rejects.toThrow(/HTTP 400/);
        await expect(openRawSocket(`ws://127.0.0.1:${broker.port}/app/${broker.key}/x`)).rejects.toThrow(/HTTP 400/);
    });
});

describe("frames on an established connection", () => {
    it("answers malformed JSON, non-objects, missing event names and unknown events with pusher:error", async () => {
        await withSocket(broker.wsUrl, async socket => {
            for (const bad of ["{not json", "[1,2]", '"text"', '{"data":{}}', '{"event":"pusher:frobnicate"}']) {
                socket.send(bad);
                const frame = await socket.next();
                expect(frame).toEqual({
                    event: "pusher:error",
                    data: { code: 4300, message: expect.any(String) }
                });
            }
            socket.send({ event: "pusher:subscribe", data: {} });
            expect(await socket.next()).toEqual({
                event: "pusher:error",
                data: { code: 4300, message: expect.stringMatching(/data\.channel/) }
            });
            socket.send({ event: "pusher:ping", data: {} });
            expect((await socket.next()).event).toBe("pusher:pong");
        });
    });

    it("refuses frames over maxMessageBytes without closing the socket", async () => {
        await withSocket(broker.wsUrl, async socket => {
            socket.send({ event: "pusher:subscribe", data: { channel: "x".repeat(11_000) } });
            expect(await socket.next()).toEqual({
                event: "pusher:error",
                data: { code: 4302, message: expect.stringMatching(/at most 10240 bytes/) }
            });
            socket.send({ event: "pusher:subscribe", data: { channel: "still-open" } });
            expect(await socket.next()).toEqual({
                event: "pusher_internal:subscription_succeeded",
                channel: "still-open",
                data: {}
            });
        });
    });

    it("closes a socket that sends a frame above the hard WebSocket limit (1009) and keeps serving others", async () => {
        const other = await openEstablishedSocket(broker.wsUrl);
        const socket = await openEstablishedSocket(broker.wsUrl);
        socket.send("x".repeat(200_000));
        expect((await socket.closed).code).toBe(1009);
        other.send({ event: "pusher:ping", data: {} });
        expect((await other.next()).event).toBe("pusher:pong");
        await other.close();
        await waitFor(() => broker.broker.stats().connections === 0);
    });

    it("sends server events with data as the exact string given", async () => {
        await withSocket(broker.wsUrl, async socket => {
            socket.send({ event: "pusher:subscribe", data: { channel: "raw-data" } });
            await socket.next(frame => frame.event === "pusher_internal:subscription_succeeded");
            const raw = new Promise<string>(resolve => socket.ws.once("message", data => resolve(data.toString())));
            expect(broker.broker.publish(["raw-data"], "evt", '{"a":1, "b": "two"}')).toBe(1);
            expect(JSON.parse(await raw)).toEqual({ event: "evt", channel: "raw-data", data: '{"a":1, "b": "two"}' });
        });
    });

    it("subscribes a private channel with a valid auth and refuses a missing one", async () => {
        await withSocket(broker.wsUrl, async socket => {
            socket.send({ event: "pusher:subscribe", data: { channel: "private-raw" } });
            expect(await socket.next()).toEqual({
                event: "pusher:subscription_error",
                channel: "private-raw",
                data: { type: "AuthError", error: expect.stringMatching(/needs an auth/), status: 401 }
            });
            const auth = channelAuthToken(broker.key, broker.secret, socket.socketId, "private-raw");
            socket.send({ event: "pusher:subscribe", data: { channel: "private-raw", auth } });
            expect(await socket.next()).toEqual({
                event: "pusher_internal:subscription_succeeded",
                channel: "private-raw",
                data: {}
            });
            const wrongKey = channelAuthToken("other-key", broker.secret, socket.socketId, "private-raw-2");
            socket.send({ event: "pusher:subscribe", data: { channel: "private-raw-2", auth: wrongKey } });
            expect((await socket.next()).event).toBe("pusher:subscription_error");
        });
    });
});

describe("server-side activity check", () => {
    it("pings an idle socket and closes it with 4201 when no pong comes back", async () => {
        const quick = await startBrokerServer({ activityTimeoutSec: 0.3, pongTimeoutMs: 200 });
        try {
            const socket = await openEstablishedSocket(quick.wsUrl);
            const started = Date.now();
            expect((await socket.next(undefined, 2_000)).event).toBe("pusher:ping");
            expect(await socket.closed).toEqual({ code: 4201, reason: "Pong reply not received" });
            const elapsed = Date.now() - started;
            expect(elapsed).toBeGreaterThanOrEqual(150);
            expect(elapsed).toBeLessThan(1_500);
            await waitFor(() => quick.broker.stats().connections === 0);
        } finally {
            await quick.close();
        }
    });

    it("keeps a socket that answers the ping", async () => {
        const quick = await startBrokerServer({ activityTimeoutSec: 0.2, pongTimeoutMs: 200 });
        try {
            const socket = await openEstablishedSocket(quick.wsUrl);
            for (let round = 0; round < 3; round++) {
                await socket.next(frame => frame.event === "pusher:ping", 2_000);
                socket.send({ event: "pusher:pong", data: {} });
            }
            expect(socket.ws.readyState).toBe(socket.ws.OPEN);
            expect(quick.broker.stats().connections).toBe(1);
            await socket.close();
        } finally {
            await quick.close();
        }
    });
});

describe("plain HTTP", () => {
    it("answers unknown HTTP paths through the host app (the router only takes its own routes)", async () => {
        const status = await new Promise<number>((resolve, reject) => {
            http.get(`${broker.url}/elsewhere`, response => {
                response.resume();
                resolve(response.statusCode ?? 0);
            }).on("error", reject);
        });
        expect(status).toBe(404);
    });
});
