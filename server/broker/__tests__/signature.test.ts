import fc from "fast-check";
import PusherServer from "pusher";
import { describe, expect, it } from "vitest";
import {
    API_TIMESTAMP_TOLERANCE_SEC,
    canonicalQuery,
    channelAuthToken,
    md5Hex,
    safeEqual,
    signApiRequest,
    signChannelAuth,
    verifyApiRequest,
    verifyChannelAuth
} from "../signature";

const key = "278d425bdf160c739803";
const secret = "7ad3773142a6692b25b8";
const sdk = new PusherServer({ appId: "1", key, secret, host: "127.0.0.1", useTLS: false });

function queryOf(queryString: string): Record<string, string> {
    return Object.fromEntries(new URLSearchParams(queryString));
}

describe("channel auth", () => {
    it("matches Pusher's documented example signature", () => {
        // https://pusher.com/docs/channels/library_auth_reference/auth-signatures/
        expect(signChannelAuth(secret, "1234.1234", "private-foobar")).toBe(
            "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        );
    });

    it("signs exactly like the pusher SDK for private and presence channels", () => {
        fc.assert(
            fc.property(
                fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}.${b}`),
                fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{1,40}$/),
                fc.record({
                    user_id: fc.string({ minLength: 1 }),
                    user_info: fc.option(fc.record({ name: fc.string() }), { nil: undefined })
                }),
                (socketId, topic, member) => {
                    const privateChannel = `private-${topic}`;
                    expect(channelAuthToken(key, secret, socketId, privateChannel)).toBe(
                        sdk.authorizeChannel(socketId, privateChannel).auth
                    );
                    const presenceChannel = `presence-${topic}`;
                    const presence = sdk.authorizeChannel(socketId, presenceChannel, {
                        user_id: member.user_id,
                        user_info: member.user_info
                    });
                    expect(
                        channelAuthToken(key, secret, socketId, presenceChannel, presence.channel_data as string)
                    ).toBe(presence.auth);
                    expect(
                        verifyChannelAuth(key, secret, socketId, presenceChannel, presence.auth, presence.channel_data)
                    ).toBe(true);
                }
            ),
            { numRuns: 50 }
        );
    });

    it("verifies a good auth and refuses wrong key, secret, socket id, channel, channel_data and malformed values", () => {
        const auth = channelAuthToken(key, secret, "1.2", "private-a");
        expect(verifyChannelAuth(key, secret, "1.2", "private-a", auth)).toBe(true);
        expect(
            verifyChannelAuth(key, secret, "1.2", "private-a", auth.toUpperCase().replace(key.toUpperCase(), key))
        ).toBe(true);
        expect(verifyChannelAuth("other", secret, "1.2", "private-a", auth)).toBe(false);
        expect(verifyChannelAuth(key, "other", "1.2", "private-a", auth)).toBe(false);
        expect(verifyChannelAuth(key, secret, "1.3", "private-a", auth)).toBe(false);
        expect(verifyChannelAuth(key, secret, "1.2", "private-b", auth)).toBe(false);
        expect(verifyChannelAuth(key, secret, "1.2", "private-a", auth, '{"user_id":"x"}')).toBe(false);
        expect(verifyChannelAuth(key, secret, "1.2", "private-a", "no-colon")).toBe(false);
        expect(verifyChannelAuth(key, secret, "1.2", "private-a", `${key}:`)).toBe(false);
        expect(verifyChannelAuth(key, secret, "1.2", "private-a", `${key}:${"0".repeat(64)}`)).toBe(false);
    });

    it("compares strings safely, including different lengths and non-ASCII", () => {
        expect(safeEqual("abc", "abc")).toBe(true);
        expect(safeEqual("abc", "abd")).toBe(false);
        expect(safeEqual("abc", "abcd")).toBe(false);
        expect(safeEqual("é", "e")).toBe(false);
        expect(safeEqual("", "")).toBe(true);
    });
});

describe("API request signatures", () => {
    const path = "/apps/1/events";
    const body = JSON.stringify({ name: "refresh", data: "{}", channels: ["private-a"] });

    it("produces the same query string as the pusher SDK", () => {
        const timestamp = Math.floor(Date.now() / 1000);
        const ours = queryOf(signApiRequest({ key, secret, method: "POST", path, body, timestamp }));
        const theirs = queryOf(sdk.createSignedQueryString({ method: "POST", path, body }));
        // The SDK uses the current time; compare once the timestamp is aligned.
        const aligned = queryOf(
            signApiRequest({ key, secret, method: "POST", path, body, timestamp: Number(theirs.auth_timestamp) })
        );
        expect(aligned).toEqual(theirs);
        expect(ours.body_md5).toBe(md5Hex(body));
    });

    it("verifies requests signed by the SDK, with and without extra params", () => {
        const signed = queryOf(sdk.createSignedQueryString({ method: "POST", path, body }));
        expect(verifyApiRequest({ key, secret, method: "POST", path, query: signed, body: Buffer.from(body) })).toEqual(
            {
                ok: true
            }
        );
        const get = queryOf(
            sdk.createSignedQueryString({ method: "GET", path: "/apps/1/channels", params: { filter_by_prefix: "p-" } })
        );
        expect(
            verifyApiRequest({ key, secret, method: "GET", path: "/apps/1/channels", query: get, body: "" })
        ).toEqual({
            ok: true
        });
    });

    it.each([
        ["a wrong secret", { secret: "wrong" }, /Invalid signature/],
        ["a wrong key", { key: "wrong" }, /Unknown auth_key/],
        ["another path", { path: "/apps/2/events" }, /Invalid signature/],
        ["another method", { method: "PUT" }, /Invalid signature/],
        ["another body", { body: Buffer.from(body + " ") }, /body_md5 mismatch/]
    ])("refuses %s", (_label, change, message) => {
        const query = queryOf(signApiRequest({ key, secret, method: "POST", path, body }));
        const result = verifyApiRequest({
            key,
            secret,
            method: "POST",
            path,
            query,
            body: Buffer.from(body),
            ...change
        });
        expect(result).toEqual({ ok: false, status: 401, message: expect.stringMatching(message) });
    });

    it("refuses timestamps outside ±600 s and accepts the edges", () => {
        const now = 1_800_000_000;
        const check = (timestamp: number) =>
            verifyApiRequest({
                key,
                secret,
                method: "POST",
                path,
                query: queryOf(signApiRequest({ key, secret, method: "POST", path, body, timestamp })),
                body,
                now
            });
        expect(check(now - API_TIMESTAMP_TOLERANCE_SEC)).toEqual({ ok: true });
        expect(check(now + API_TIMESTAMP_TOLERANCE_SEC)).toEqual({ ok: true });
        expect(check(now - API_TIMESTAMP_TOLERANCE_SEC - 1)).toMatchObject({ ok: false, message: /Timestamp expired/ });
        expect(check(now + API_TIMESTAMP_TOLERANCE_SEC + 1)).toMatchObject({ ok: false, message: /Timestamp expired/ });
    });

    it("refuses missing parameters and a tampered extra parameter", () => {
        const query = queryOf(signApiRequest({ key, secret, method: "POST", path, body, params: { info: "a" } }));
        const verify = (q: Record<string, string>) =>
            verifyApiRequest({ key, secret, method: "POST", path, query: q, body });
        expect(verify(query)).toEqual({ ok: true });
        expect(verify({ ...query, info: "b" })).toMatchObject({ ok: false, message: /Invalid signature/ });
        for (const name of ["auth_key", "auth_signature", "auth_timestamp", "body_md5"]) {
            const without = { ...query };
            delete without[name];
            expect(verify(without)).toMatchObject({ ok: false, status: 401 });
        }
        expect(verify({ ...query, auth_version: "2.0" })).toMatchObject({ ok: false, message: /auth_version/ });
    });

    it("orders the canonical query by key and leaves auth_signature out", () => {
        expect(canonicalQuery({ b: "2", auth_signature: "x", a: "1", B: "0" })).toBe("B=0&a=1&b=2");
    });
});
