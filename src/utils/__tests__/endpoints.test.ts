// @vitest-environment node
import { describe, expect, it } from "vitest";
import { resolveServer } from "../endpoints";

describe("resolveServer", () => {
    it("uses the app's own origin when Server URL is empty", () => {
        expect(resolveServer("", "https://app.example.com/index.html")).toEqual({
            ok: true,
            endpoints: {
                base: "https://app.example.com",
                keyUrl: "https://app.example.com/rest/pusher/key",
                authUrl: "https://app.example.com/rest/pusher/auth",
                crossOrigin: false
            }
        });
    });

    it("uses the configured server, without trailing slash, and marks another origin as cross-origin", () => {
        const result = resolveServer(" https://notify.example.com/ ", "https://app.example.com/");
        expect(result).toMatchObject({
            ok: true,
            endpoints: {
                base: "https://notify.example.com",
                authUrl: "https://notify.example.com/rest/pusher/auth",
                crossOrigin: true
            }
        });
    });

    it("keeps a path prefix and treats the same origin as same-origin", () => {
        const result = resolveServer("https://app.example.com/notify/", "https://app.example.com/p/orders");
        expect(result).toMatchObject({
            ok: true,
            endpoints: { keyUrl: "https://app.example.com/notify/rest/pusher/key", crossOrigin: false }
        });
    });

    it("rejects addresses that are not http(s)", () => {
        expect(resolveServer("ftp://files.example.com", "https://app.example.com/")).toMatchObject({
            ok: false,
            message: expect.stringMatching(/must start with https:\/\/ or http:\/\//)
        });
        expect(resolveServer("http://exa mple.com", "https://app.example.com/")).toMatchObject({ ok: false });
    });
});
