import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createChannels } from "../channels";
import type { ChannelListener } from "../status";

const listener = (): ChannelListener => ({ onEvent: () => undefined, onStatus: () => undefined });

describe("createChannels", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("counts listeners per channel: the first creates the channel, the last one out removes it", () => {
        const channels = createChannels(3000, () => undefined);
        const a = listener();
        const b = listener();
        const first = channels.join("private-x", a);
        const second = channels.join("private-x", b);
        expect(first.isNew).toBe(true);
        expect(second.isNew).toBe(false);
        expect(second.entry).toBe(first.entry);
        expect(first.entry.status).toEqual({ state: "connecting" });
        expect([...first.entry.listeners]).toEqual([a, b]);

        expect(channels.leave(first.entry, a)).toBe(false);
        expect(channels.names()).toEqual(["private-x"]);
        expect(channels.leave(first.entry, b)).toBe(true);
        expect(channels.size).toBe(0);
        expect(channels.get("private-x")).toBeUndefined();
        // Leaving twice does nothing.
        expect(channels.leave(first.entry, b)).toBe(false);
    });

    it("starts the grace period when the last channel left, and runs onIdle at its end", async () => {
        const onIdle = vi.fn();
        const channels = createChannels(3000, onIdle);
        const a = listener();
        const b = listener();
        const x = channels.join("private-x", a).entry;
        const y = channels.join("private-y", b).entry;
        channels.leave(x, a);
        expect(vi.getTimerCount()).toBe(0);

        channels.leave(y, b);
        expect(vi.getTimerCount()).toBe(1);
        await vi.advanceTimersByTimeAsync(2999);
        expect(onIdle).not.toHaveBeenCalled();
        await vi.advanceTimersByTimeAsync(1);
        expect(onIdle).toHaveBeenCalledOnce();
    });

    it("ends the grace period when a channel joins within it", async () => {
        const onIdle = vi.fn();
        const channels = createChannels(3000, onIdle);
        const a = listener();
        channels.leave(channels.join("private-x", a).entry, a);
        await vi.advanceTimersByTimeAsync(1000);
        const next = channels.join("private-y", listener());
        expect(next.isNew).toBe(true);
        expect(vi.getTimerCount()).toBe(0);
        await vi.advanceTimersByTimeAsync(10_000);
        expect(onIdle).not.toHaveBeenCalled();
    });

    it("a channel that left and joins again is a new channel", () => {
        const channels = createChannels(3000, () => undefined);
        const a = listener();
        const old = channels.join("private-x", a).entry;
        channels.leave(old, a);
        const again = channels.join("private-x", a);
        expect(again.isNew).toBe(true);
        expect(again.entry).not.toBe(old);
        // The old entry's listener leaving again does not touch the new entry.
        expect(channels.leave(old, a)).toBe(false);
        expect(channels.names()).toEqual(["private-x"]);
    });

    it("clear() forgets every channel and stops the grace period", async () => {
        const onIdle = vi.fn();
        const channels = createChannels(3000, onIdle);
        const a = listener();
        channels.join("private-y", listener());
        channels.clear();
        expect(channels.size).toBe(0);
        const { entry } = channels.join("private-x", a);
        channels.leave(entry, a);
        expect(vi.getTimerCount()).toBe(1);
        channels.clear();
        expect(vi.getTimerCount()).toBe(0);
        await vi.advanceTimersByTimeAsync(10_000);
        expect(onIdle).not.toHaveBeenCalled();
    });
});
