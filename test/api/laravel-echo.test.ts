/**
 * Laravel Echo (with pusher-js, in Node) against a real server on 127.0.0.1 and the playground's fake Mendix app:
 * `join("Sales.Order.281474976710657")` subscribes `presence-Sales.Order.281474976710657` through `POST /rest/pusher/auth` with the page's
 * session cookie and CSRF header, and `here`, `joining` and `leaving` report the members the access check answered.
 * `private(userTopic(...))` receives the user's notifications.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Echo from "laravel-echo";
import PusherClient, { type Channel, type ChannelAuthorizationCallback } from "pusher-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFakeMendix, type FakeMendix } from "../../playground/runtime";
import { userTopic } from "../../protocol";
import { BEARER, answer, fetchAuthorizer, postJson, startServer, waitFor, type TestServer } from "./helpers";

const TOPIC = "Sales.Order.281474976710657";

let mendix: FakeMendix;
let mendixServer: http.Server;
let server: TestServer;
const echos: Array<Echo<"pusher">> = [];

beforeAll(async () => {
    mendix = createFakeMendix();
    const app = express();
    app.use(mendix.router);
    mendixServer = http.createServer(app);
    await new Promise<void>(resolve => mendixServer.listen(0, "127.0.0.1", resolve));
    const { port } = mendixServer.address() as AddressInfo;
    server = await startServer({ MENDIX_APP_URL: `http://127.0.0.1:${port}` });
});

afterAll(async () => {
    for (const echo of echos) {
        echo.disconnect();
    }
    await server.close();
    mendixServer.closeAllConnections();
    await new Promise<void>(resolve => mendixServer.close(() => resolve()));
});

/** Echo as a page of the signed-in `user` configures it: the server's client config, its auth endpoint. */
async function echoOf(user: string): Promise<Echo<"pusher">> {
    const config = (await answer(fetch(`${server.url}/rest/pusher/key`))).body as {
        key: string;
        cluster: string;
        wsHost: string;
        wsPort: number;
        forceTLS: boolean;
    };
    const session = mendix.createSession(user);
    const authorize = fetchAuthorizer(`${server.url}/rest/pusher/auth`, {
        Cookie: mendix.cookieHeader(session),
        "X-Csrf-Token": session.csrfToken
    });
    const echo = new Echo({
        broadcaster: "pusher",
        Pusher: PusherClient,
        key: config.key,
        cluster: config.cluster,
        wsHost: config.wsHost,
        wsPort: config.wsPort,
        forceTLS: config.forceTLS,
        enabledTransports: ["ws"],
        disableStats: true,
        authEndpoint: `${server.url}/rest/pusher/auth`,
        // Echo's documented hook for a custom authorization: the same form pusher-js posts, with the session cookie.
        authorizer: (channel: Channel) => ({
            authorize: (socketId: string, callback: ChannelAuthorizationCallback) =>
                authorize({ socketId, channelName: channel.name }, callback)
        })
    });
    echos.push(echo);
    return echo;
}

describe("Laravel Echo join()", () => {
    it("here lists the members already present, joining and leaving report the others", async () => {
        const john = await echoOf("john");
        const johnHere: unknown[][] = [];
        const joined: unknown[] = [];
        const left: unknown[] = [];
        john.join(TOPIC)
            .here((members: unknown[]) => johnHere.push(members))
            .joining((member: unknown) => joined.push(member))
            .leaving((member: unknown) => left.push(member));
        await waitFor(() => johnHere.length === 1, 5000, "john's here");
        expect(johnHere[0]).toEqual([{ name: "John Smith" }]);

        const mary = await echoOf("mary");
        const maryHere: unknown[][] = [];
        mary.join(TOPIC).here((members: unknown[]) => maryHere.push(members));
        await waitFor(() => maryHere.length === 1 && joined.length === 1, 5000, "mary's here and john's joining");
        expect(maryHere[0]).toEqual(expect.arrayContaining([{ name: "John Smith" }, { name: "Mary Jones" }]));
        expect(maryHere[0]).toHaveLength(2);
        expect(joined).toEqual([{ name: "Mary Jones" }]);

        mary.leave(TOPIC);
        await waitFor(() => left.length === 1, 5000, "john's leaving");
        expect(left).toEqual([{ name: "Mary Jones" }]);
        mary.disconnect();
    });

    it("a user without access to the object cannot join: Echo's error callback gets the 403", async () => {
        const eve = await echoOf("eve");
        const errors: unknown[] = [];
        eve.join(TOPIC).error((error: unknown) => errors.push(error));
        await waitFor(() => errors.length === 1, 5000, "eve's refusal");
        expect(JSON.stringify(errors[0])).toMatch(/status: 403/);
    });

    it("private(userTopic(name)) receives that user's notifications", async () => {
        const mary = await echoOf("mary");
        const toasts: unknown[] = [];
        const subscribed: boolean[] = [];
        mary.private(userTopic("mary"))
            .subscribed(() => subscribed.push(true))
            .listen(".toast", (payload: unknown) => toasts.push(payload));
        await waitFor(() => subscribed.length === 1, 5000, "mary's user channel");
        const sent = await answer(
            postJson(
                `${server.url}/rest/pusher/notify`,
                { user: "mary", action: "toast", data: "Export ready" },
                BEARER
            )
        );
        expect(sent.status).toBe(200);
        await waitFor(() => toasts.length === 1, 5000, "mary's toast");
        expect(toasts[0]).toMatchObject({ actionName: "toast", data: "Export ready" });
    });
});
