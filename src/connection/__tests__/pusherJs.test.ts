import { describe, expect, it, vi } from "vitest";
import { closeErrorOf, describeClose, isPusherEvent, pusherGivesUpOn, pusherOptions } from "../pusherJs";

describe("closeErrorOf", () => {
    it("reads the close code and reason of both pusher-js error shapes, and nothing else", () => {
        expect(
            closeErrorOf({
                type: "WebSocketError",
                error: { type: "PusherError", data: { code: 4001, message: "App key x not found" } }
            })
        ).toEqual({ code: 4001, message: "App key x not found" });
        expect(closeErrorOf({ type: "PusherError", data: { code: 4301 } })).toEqual({ code: 4301 });
        expect(closeErrorOf({ type: "WebSocketError", error: { type: "error" } })).toBeUndefined();
        expect(closeErrorOf({ type: "PusherError", data: { code: "4001" } })).toBeUndefined();
        expect(closeErrorOf(null)).toBeUndefined();
        expect(closeErrorOf("error")).toBeUndefined();
    });
});

describe("describeClose", () => {
    it("shows the code and the server's reason, or the code alone", () => {
        expect(describeClose({ code: 4001, message: "App key x not found" })).toBe("4001: App key x not found");
        expect(describeClose({ code: 4200 })).toBe("4200");
        expect(describeClose({ code: 4200, message: "" })).toBe("4200");
    });
});

describe("pusherGivesUpOn", () => {
    it("is true for the codes pusher-js 8 does not reconnect after: 4001-4099 and 4300 and up", () => {
        for (const code of [4001, 4003, 4007, 4099, 4300, 4301, 4999]) {
            expect(pusherGivesUpOn(code)).toBe(true);
        }
        for (const code of [1000, 1006, 4000, 4100, 4199, 4200, 4201, 4299]) {
            expect(pusherGivesUpOn(code)).toBe(false);
        }
    });
});

describe("isPusherEvent", () => {
    it("recognises pusher-js's own events only by their prefixes", () => {
        for (const event of [
            "pusher:subscription_succeeded",
            "pusher:subscription_count",
            "pusher_internal:member_added"
        ]) {
            expect(isPusherEvent(event)).toBe(true);
        }
        for (const event of ["refresh", "pusherless", "Pusher:refresh", "client-x"]) {
            expect(isPusherEvent(event)).toBe(false);
        }
    });
});

describe("pusherOptions", () => {
    it("uses TLS to a self-hosted server from an https page, as a browser refuses ws:// there", () => {
        const authorize = { customHandler: () => undefined };
        const config = { key: "k", cluster: "local", wsHost: "notify.example.com", wsPort: 443, forceTLS: false };
        expect(pusherOptions(config, authorize).forceTLS).toBe(false);
        vi.stubGlobal("location", new URL("https://app.example.com/p/orders"));
        try {
            expect(pusherOptions(config, authorize).forceTLS).toBe(true);
        } finally {
            vi.unstubAllGlobals();
        }
    });

    it("uses only cluster (+forceTLS) for Pusher Channels, and ws transports for a self-hosted server", () => {
        const authorize = { customHandler: () => undefined };
        expect(pusherOptions({ key: "k", cluster: "eu" }, authorize)).toEqual({
            cluster: "eu",
            channelAuthorization: authorize
        });
        expect(
            pusherOptions({ key: "k", cluster: "local", wsHost: "notify.example.com", forceTLS: true }, authorize)
        ).toEqual({
            cluster: "local",
            channelAuthorization: authorize,
            wsHost: "notify.example.com",
            forceTLS: true,
            enabledTransports: ["ws", "wss"]
        });
    });
});
