import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createReconnect, RECONNECT_CAP_MS, reconnectDelay, type ReconnectHooks } from "../reconnect";

describe("reconnectDelay", () => {
    it("doubles from 0.5 s up to 15 s with ±25 % jitter", () => {
        expect([0, 1, 2, 3, 4, 5, 6, 40].map(attempt => reconnectDelay(attempt, () => 0.5))).toEqual([
            500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000
        ]);
        expect(reconnectDelay(0, () => 0)).toBe(375);
        expect(reconnectDelay(0, () => 0.999_999)).toBe(625);
        expect(reconnectDelay(3, () => 0)).toBe(3000);
        for (let attempt = 0; attempt < 12; attempt++) {
            const delay = reconnectDelay(attempt);
            expect(delay).toBeGreaterThanOrEqual(375);
            expect(delay).toBeLessThanOrEqual(RECONNECT_CAP_MS);
        }
    });
});

/** A socket stand-in: `connected` and `listening` are set by the test; restarts are counted. */
function setup(options: { reportsConnecting?: boolean } = {}) {
    const socket = { connected: false, listening: true, restarts: 0, changes: 0 };
    const hooks: ReconnectHooks = {
        random: () => 0.5,
        canCheck: () => socket.listening,
        isConnected: () => socket.connected,
        restart: () => {
            socket.restarts++;
            if (options.reportsConnecting) {
                // What the connection does when pusher-js reports "connecting" after the restart.
                reconnect.resume();
            }
        },
        onChange: () => {
            socket.changes++;
        }
    };
    const reconnect = createReconnect(hooks);
    return { reconnect, socket };
}

describe("createReconnect", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("restarts the attempt at 0.5 s, 1 s, 2 s … while the socket stays lost", async () => {
        const { reconnect, socket } = setup({ reportsConnecting: true });
        expect(reconnect.attempts).toBe(0);
        expect(reconnect.nextCheckInMs).toBeUndefined();

        reconnect.socketLost();
        expect(reconnect.nextCheckInMs).toBe(500);
        await vi.advanceTimersByTimeAsync(499);
        expect(socket.restarts).toBe(0);
        await vi.advanceTimersByTimeAsync(1);
        expect(socket.restarts).toBe(1);
        expect(reconnect.attempts).toBe(1);
        expect(reconnect.nextCheckInMs).toBe(1000);
        await vi.advanceTimersByTimeAsync(1000);
        expect(socket.restarts).toBe(2);
        expect(reconnect.nextCheckInMs).toBe(2000);
        // The state change after each restart armed the next check: nothing else to tell.
        expect(socket.changes).toBe(0);
        expect(vi.getTimerCount()).toBe(1);
    });

    it("arms the next check itself, and says so, when the restart reports no state change", async () => {
        const { reconnect, socket } = setup();
        reconnect.socketLost();
        await vi.advanceTimersByTimeAsync(500);
        expect(socket.restarts).toBe(1);
        expect(socket.changes).toBe(1);
        expect(reconnect.nextCheckInMs).toBe(1000);
    });

    it("stops when a check finds the socket connected (pusher-js made it by itself)", async () => {
        const { reconnect, socket } = setup({ reportsConnecting: true });
        reconnect.socketLost();
        await vi.advanceTimersByTimeAsync(500);
        socket.connected = true;
        await vi.advanceTimersByTimeAsync(1000);
        expect(socket.restarts).toBe(1);
        expect(reconnect.attempts).toBe(0);
        expect(vi.getTimerCount()).toBe(0);

        // The next loss starts from 0.5 s again.
        socket.connected = false;
        reconnect.socketLost();
        expect(reconnect.nextCheckInMs).toBe(500);
    });

    it("arms one check however often the loss is reported", () => {
        const { reconnect } = setup();
        reconnect.socketLost();
        reconnect.socketLost();
        expect(reconnect.resume()).toBe(false);
        expect(vi.getTimerCount()).toBe(1);
    });

    it("resume() does nothing while the socket is not lost", () => {
        const { reconnect } = setup();
        expect(reconnect.resume()).toBe(false);
        expect(vi.getTimerCount()).toBe(0);
    });

    it("arms nothing while nobody listens, and picks up when a listener comes back", async () => {
        const { reconnect, socket } = setup({ reportsConnecting: true });
        socket.listening = false;
        reconnect.socketLost();
        expect(vi.getTimerCount()).toBe(0);
        socket.listening = true;
        expect(reconnect.resume()).toBe(true);
        await vi.advanceTimersByTimeAsync(500);
        expect(socket.restarts).toBe(1);
    });

    it("pause() disarms but keeps the loss and the attempts; resume() goes on where it stopped", async () => {
        const { reconnect, socket } = setup({ reportsConnecting: true });
        reconnect.socketLost();
        await vi.advanceTimersByTimeAsync(500);
        reconnect.pause();
        expect(vi.getTimerCount()).toBe(0);
        expect(reconnect.attempts).toBe(1);
        expect(reconnect.nextCheckInMs).toBeUndefined();
        await vi.advanceTimersByTimeAsync(60_000);
        expect(socket.restarts).toBe(1);

        expect(reconnect.resume()).toBe(true);
        expect(reconnect.nextCheckInMs).toBe(1000);
    });

    it("stop() forgets the loss", async () => {
        const { reconnect, socket } = setup({ reportsConnecting: true });
        reconnect.socketLost();
        await vi.advanceTimersByTimeAsync(500);
        reconnect.stop();
        expect(reconnect.attempts).toBe(0);
        expect(reconnect.resume()).toBe(false);
        expect(vi.getTimerCount()).toBe(0);
        await vi.advanceTimersByTimeAsync(60_000);
        expect(socket.restarts).toBe(1);
    });

    it("skips a due check when nobody listens any more", async () => {
        const { reconnect, socket } = setup();
        reconnect.socketLost();
        socket.listening = false;
        await vi.advanceTimersByTimeAsync(500);
        expect(socket.restarts).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
        expect(reconnect.nextCheckInMs).toBeUndefined();
    });
});
