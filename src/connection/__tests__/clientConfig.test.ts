// @vitest-environment node
import { describe, expect, it } from "vitest";
import { fakeFetch, json } from "../../__tests__/fakes";
import { fetchClientConfig, parseClientConfig, sameClientConfig } from "../clientConfig";
import { endpoints, rejection } from "./helpers";

describe("fetchClientConfig (GET /rest/pusher/key)", () => {
    it("returns the client configuration and sends the CSRF token with same-origin credentials", async () => {
        const server = fakeFetch();
        const config = await fetchClientConfig(endpoints(), server.fetch, "csrf-1");
        expect(config).toEqual({
            key: "app-key",
            cluster: "local",
            wsHost: "127.0.0.1",
            wsPort: 6001,
            forceTLS: false
        });
        expect(server.requests[0]).toMatchObject({
            url: "http://app.test/rest/pusher/key",
            method: "GET",
            credentials: "same-origin",
            headers: { "x-csrf-token": "csrf-1" }
        });
    });

    it("includes cookies when the server is on another origin", async () => {
        const server = fakeFetch();
        await fetchClientConfig(endpoints("http://notify.test:8080"), server.fetch, undefined);
        expect(server.requests[0]).toMatchObject({
            url: "http://notify.test:8080/rest/pusher/key",
            credentials: "include"
        });
        expect(server.requests[0].headers["x-csrf-token"]).toBeUndefined();
    });

    it("reports an unreachable server as retryable", async () => {
        const server = fakeFetch({ key: () => new TypeError("fetch failed") });
        const error = await rejection(fetchClientConfig(endpoints(), server.fetch, undefined));
        expect(error).toMatchObject({ kind: "key-unreachable", retryable: true });
        expect(error.message).toMatch(
            /Cannot reach the Notify & Listen server at http:\/\/app.test\/rest\/pusher\/key \(fetch failed\)/
        );
    });

    it("reports a non-200 answer with the server's explanation; only 5xx is retryable", async () => {
        const notFound = fakeFetch({
            key: () => json({ error: { code: "not_found", message: "No such route" } }, 404)
        });
        const error = await rejection(fetchClientConfig(endpoints(), notFound.fetch, undefined));
        expect(error).toMatchObject({ kind: "key-status", status: 404, retryable: false });
        expect(error.message).toMatch(/answered HTTP 404 .*\(No such route\)/);

        const down = fakeFetch({ key: () => new Response("Bad gateway", { status: 502 }) });
        expect(await rejection(fetchClientConfig(endpoints(), down.fetch, undefined))).toMatchObject({
            kind: "key-status",
            status: 502,
            retryable: true
        });
    });

    it("reports an answer that is not JSON or not a configuration", async () => {
        const html = fakeFetch({ key: () => new Response("<html>login</html>", { status: 200 }) });
        expect(await rejection(fetchClientConfig(endpoints(), html.fetch, undefined))).toMatchObject({
            kind: "key-invalid",
            message: expect.stringMatching(/is not JSON/)
        });
        const noKey = fakeFetch({ key: () => json({ cluster: "eu" }) });
        expect(await rejection(fetchClientConfig(endpoints(), noKey.fetch, undefined))).toMatchObject({
            kind: "key-invalid",
            message: expect.stringMatching(/"key" is missing/)
        });
    });
});

describe("parseClientConfig", () => {
    it("adds a cluster when the server sends none (pusher-js 8 needs one) and accepts Pusher Channels configs", () => {
        expect(parseClientConfig({ key: "k", wsHost: "h" }, "u")).toEqual({ key: "k", cluster: "local", wsHost: "h" });
        expect(parseClientConfig({ key: "k", cluster: "eu" }, "u")).toEqual({ key: "k", cluster: "eu" });
        expect(parseClientConfig({ key: "k", cluster: "mt1", wsPort: "6001" }, "u")).toMatchObject({ wsPort: 6001 });
    });

    it("rejects wrong field types", () => {
        expect(() => parseClientConfig([], "u")).toThrow(/expected a JSON object/);
        expect(() => parseClientConfig({ key: "k", wsPort: 70000 }, "u")).toThrow(/"wsPort" must be a port number/);
        expect(() => parseClientConfig({ key: "k", forceTLS: "yes" }, "u")).toThrow(/"forceTLS" must be true or false/);
        expect(() => parseClientConfig({ key: "k", wsHost: "" }, "u")).toThrow(/"wsHost" must be a host name/);
        for (const wsPort of [0, 65536, 1.5, "", "port"]) {
            expect(() => parseClientConfig({ key: "k", wsPort }, "u")).toThrow(/"wsPort" must be a port number/);
        }
        expect(() => parseClientConfig({ key: "" }, "http://x/rest/pusher/key")).toThrow(
            'The answer of http://x/rest/pusher/key is not a valid Notify & Listen client configuration ("key" is missing). Check the Server URL.'
        );
    });

    it("keeps only the fields the server sent (null counts as not sent)", () => {
        expect(
            parseClientConfig({ key: "k", wsHost: null, wsPort: null, forceTLS: null, extra: 1 }, "u")
        ).toStrictEqual({
            key: "k",
            cluster: "local"
        });
        expect(parseClientConfig({ key: "k", cluster: "", wsPort: 1, forceTLS: true }, "u")).toStrictEqual({
            key: "k",
            cluster: "local",
            wsPort: 1,
            forceTLS: true
        });
    });
});

describe("sameClientConfig", () => {
    it("compares key, cluster, host, port and TLS", () => {
        const base = { key: "k", cluster: "local", wsHost: "h", wsPort: 1, forceTLS: false };
        expect(sameClientConfig(base, { ...base })).toBe(true);
        for (const change of [{ key: "k2" }, { cluster: "eu" }, { wsHost: "h2" }, { wsPort: 2 }, { forceTLS: true }]) {
            expect(sameClientConfig(base, { ...base, ...change })).toBe(false);
        }
        expect(sameClientConfig({ key: "k", cluster: "eu" }, { key: "k", cluster: "eu" })).toBe(true);
    });

    it("does not depend on the order of the fields", () => {
        expect(
            sameClientConfig(
                { key: "k", cluster: "local", wsHost: "h", wsPort: 1 },
                { wsPort: 1, wsHost: "h", cluster: "local", key: "k" }
            )
        ).toBe(true);
        expect(sameClientConfig({ key: "k", cluster: "eu" }, { key: "k", cluster: "eu", forceTLS: true })).toBe(false);
    });
});
