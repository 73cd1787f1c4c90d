/**
 * Presence, user and broadcast channels under attack and under failure, against the real server and the fake Mendix
 * app of the playground (playground/runtime.ts: sessions, CSRF tokens, kind, displayName): another user's channel is
 * refused, a forged presence identity is ignored, a browser without a session cannot join, and presence lists stay
 * right when sockets drop without unsubscribing (no ghosts), by the members' events and by the HTTP API.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import PusherServer from "pusher";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_USERS } from "../../playground/data";
import { createFakeMendix, type FakeMendix } from "../../playground/runtime";
import { channelForTopic, userTopic } from "../../protocol";
import {
    answer,
    connectListener,
    postForm,
    startServer,
    waitFor,
    type Listener,
    type TestServer
} from "../api/helpers";
import { openEstablishedSocket, type RawFrame, type RawSocket } from "../broker/helpers";
import { BROKER, baseEnv } from "./harness";

const TOPIC = "Sales.Order.281474976710657";
const PRESENCE = `presence-${TOPIC}`;
const USERS = [
    ...DEMO_USERS,
    { name: "Józef Nowak", fullName: "Józef", displayName: "Józef N.", access: "all" as const }
];

let mendix: FakeMendix;
let mendixServer: http.Server;
let server: TestServer;
let sdk: PusherServer;
const open: Array<{ close(): unknown }> = [];

beforeAll(async () => {
    mendix = createFakeMendix({ users: USERS });
    const app = express();
    app.use(mendix.router);
    mendixServer = http.createServer(app);
    await new Promise<void>(resolve => mendixServer.listen(0, "127.0.0.1", resolve));
    const { port } = mendixServer.address() as AddressInfo;
    server = await startServer(baseEnv({ MENDIX_APP_URL: `http://127.0.0.1:${port}` }));
    sdk = new PusherServer({
        appId: BROKER.appId,
        key: BROKER.key,
        secret: BROKER.secret,
        host: "127.0.0.1",
        port: new URL(server.url).port,
        useTLS: false
    });
});

afterEach(async () => {
    for (const item of open.splice(0)) {
        await item.close();
    }
});

afterAll(async () => {
    await server.close();
    mendixServer.closeAllConnections();
    await new Promise<void>(resolve => mendixServer.close(() => resolve()));
});

/** The headers a signed-in browser of `user` sends (session cookie and CSRF token). */
function browserOf(user: string): Record<string, string> {
    const session = mendix.createSession(user);
    return { Cookie: mendix.cookieHeader(session), "X-Csrf-Token": session.csrfToken };
}

async function pageOf(user: string | null): Promise<Listener> {
    const listener = await connectListener(server.url, user === null ? {} : browserOf(user));
    open.push({ close: () => listener.disconnect() });
    return listener;
}

const authorize = (fields: Record<string, string>, headers: Record<string, string>) =>
    answer(postForm(`${server.url}/rest/pusher/auth`, fields, headers));

/** A raw Pusher socket of `user` joined to `channel` the way pusher-js joins: the server's answer, sent as is. */
async function rawMember(user: string, channel = PRESENCE): Promise<RawSocket & { socketId: string }> {
    const socket = await openEstablishedSocket(
        `ws://127.0.0.1:${new URL(server.url).port}/app/${BROKER.key}?protocol=7`
    );
    open.push(socket);
    const { status, body } = await authorize({ socket_id: socket.socketId, channel_name: channel }, browserOf(user));
    expect(status).toBe(200);
    socket.send({ event: "pusher:subscribe", data: { channel, auth: body.auth, channel_data: body.channel_data } });
    await socket.next(frame => frame.channel === channel && frame.event === "pusher_internal:subscription_succeeded");
    return socket;
}

async function memberIds(): Promise<string[]> {
    const response = await sdk.get({ path: `/channels/${PRESENCE}/users` });
    const body = (await response.json()) as { users: Array<{ id: string }> };
    return body.users.map(user => user.id).sort();
}

/** Polls an asynchronous condition (the broker's HTTP API) until it holds. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 25));
    }
}

/** A page that watches the presence channel: its member events, in order. */
async function watcher(user: string) {
    const page = await pageOf(user);
    const channel = await page.subscribe(PRESENCE);
    const events: string[] = [];
    channel.bind("pusher:member_added", (member: { id: string; info: { name: string } }) =>
        events.push(`added ${member.id} (${member.info.name})`)
    );
    channel.bind("pusher:member_removed", (member: { id: string }) => events.push(`removed ${member.id}`));
    return { page, channel, events };
}

describe("another user's channel", () => {
    it("is refused with 403 and never signed, to pusher-js and to a plain HTTP request", async () => {
        const mary = await pageOf("mary");
        await expect(mary.subscribe(channelForTopic(userTopic("john")))).rejects.toThrow(/status: 403/);
        for (const other of ["john", "Mary", "Józef Nowak"]) {
            const { status, body } = await authorize(
                { socket_id: mary.socketId, channel_name: channelForTopic(userTopic(other)) },
                browserOf("mary")
            );
            expect(status, other).toBe(403);
            expect(JSON.stringify(body)).not.toContain('"auth"');
        }
        // Her own channel, and a name with any characters for its own user, are signed.
        await mary.subscribe(channelForTopic(userTopic("mary")));
        const jozef = await pageOf("Józef Nowak");
        await jozef.subscribe("private-user-J=C3=B3zef=20Nowak");
    });

    it("cannot be joined on the socket without the server's signature", async () => {
        const socket = await openEstablishedSocket(
            `ws://127.0.0.1:${new URL(server.url).port}/app/${BROKER.key}?protocol=7`
        );
        open.push(socket);
        const { body } = await authorize(
            { socket_id: socket.socketId, channel_name: channelForTopic(userTopic("mary")) },
            browserOf("mary")
        );
        // Mary's signature does not open John's channel.
        socket.send({ event: "pusher:subscribe", data: { channel: "private-user-john", auth: body.auth } });
        const answer = await socket.next(frame => frame.channel === "private-user-john");
        expect(answer.event).toBe("pusher:subscription_error");
    });

    it("a malformed encoding is 400 naming the problem", async () => {
        for (const channel of ["private-user-=6Aohn", "private-user-j=c3=b3zef", "private-user-=C3", "private-user-"]) {
            const { status, body } = await authorize({ socket_id: "1.2", channel_name: channel }, browserOf("john"));
            expect(status, channel).toBe(400);
            expect(body.error.details[0]).toEqual({
                path: "channel_name",
                message: expect.stringMatching(/does not hold an encoded user name/)
            });
        }
    });
});

describe("a forged presence identity", () => {
    it("is ignored: the signed member is the access check's user and display name", async () => {
        const forged = JSON.stringify({ user_id: "admin", user_info: { name: "Administrator" } });
        const { status, body } = await authorize(
            { socket_id: "1.2", channel_name: PRESENCE, channel_data: forged, user: "admin", displayName: "Admin" },
            browserOf("john")
        );
        expect(status).toBe(200);
        expect(JSON.parse(body.channel_data as string)).toEqual({ user_id: "john", user_info: { name: "John Smith" } });
    });

    it("cannot join with the server's signature and its own channel_data; other members never see it", async () => {
        const { events } = await watcher("mary");
        const socket = await openEstablishedSocket(
            `ws://127.0.0.1:${new URL(server.url).port}/app/${BROKER.key}?protocol=7`
        );
        open.push(socket);
        const { body } = await authorize({ socket_id: socket.socketId, channel_name: PRESENCE }, browserOf("john"));
        socket.send({
            event: "pusher:subscribe",
            data: { channel: PRESENCE, auth: body.auth, channel_data: JSON.stringify({ user_id: "admin" }) }
        });
        const refused = await socket.next(frame => frame.channel === PRESENCE);
        expect(refused.event).toBe("pusher:subscription_error");
        expect(await memberIds()).toEqual(["mary"]);
        expect(events).toEqual([]);
    });
});

describe("a browser without a session", () => {
    it("cannot join presence: 401, and pusher-js reports the refusal", async () => {
        const { status, body } = await authorize({ socket_id: "1.2", channel_name: PRESENCE }, {});
        expect(status).toBe(401);
        expect(body.error.code).toBe("not_authenticated");
        const stranger = await pageOf(null);
        await expect(stranger.subscribe(PRESENCE)).rejects.toThrow(/status: 401/);
        // A session's CSRF token is needed too.
        const session = mendix.createSession("john");
        const noCsrf = await authorize(
            { socket_id: "1.2", channel_name: PRESENCE },
            { Cookie: mendix.cookieHeader(session) }
        );
        expect(noCsrf.status).toBe(401);
        expect(await memberIds()).toEqual([]);
    });

    it("nor may a user without access to the object (403)", async () => {
        const eve = await pageOf("eve");
        await expect(eve.subscribe(PRESENCE)).rejects.toThrow(/status: 403/);
    });
});

describe("presence lists across disconnects", () => {
    it("one member per user, removed only with the user's last socket, also when sockets drop: no ghosts", async () => {
        const { channel, events } = await watcher("mary");
        const here = channel as unknown as { members: { count: number; me: { id: string; info: unknown } } };
        expect(here.members.count).toBe(1);
        expect(here.members.me).toEqual({ id: "mary", info: { name: "Mary Jones" } });

        // John in two tabs: one member.
        const tab1 = await rawMember("john");
        const tab2 = await rawMember("john");
        const jozef = await rawMember("Józef Nowak");
        await waitFor(() => events.length === 2, 3000, "two member_added");
        expect(events).toEqual(["added john (John Smith)", "added Józef Nowak (Józef N.)"]);
        expect(await memberIds()).toEqual(["Józef Nowak", "john", "mary"]);
        const joined = tab2.frames.find(frame => frame.event === "pusher_internal:subscription_succeeded") as RawFrame;
        expect((joined.data as { presence: { count: number } }).presence.count).toBe(2);

        // A dropped socket (no unsubscribe, no close frame) of a user with another tab: still a member.
        tab1.ws.terminate();
        await tab1.closed;
        await new Promise(resolve => setTimeout(resolve, 300));
        expect(events).toHaveLength(2);
        expect(await memberIds()).toEqual(["Józef Nowak", "john", "mary"]);

        // Its last socket drops: removed, once.
        tab2.ws.terminate();
        jozef.ws.terminate();
        await waitFor(() => events.length === 4, 3000, "member_removed of both");
        expect(events.slice(2).sort()).toEqual(["removed Józef Nowak", "removed john"]);
        expect(await memberIds()).toEqual(["mary"]);
        expect(here.members.count).toBe(1);

        // John comes back: added again, once.
        await rawMember("john");
        await waitFor(() => events.length === 5, 3000, "john added again");
        expect(events[4]).toBe("added john (John Smith)");
    });

    it("a pusher-js page that disconnects leaves; the channel is gone when the last member leaves", async () => {
        const { events } = await watcher("mary");
        const john = await pageOf("john");
        await john.subscribe(PRESENCE);
        await waitFor(() => events.length === 1, 3000, "john added");
        john.disconnect();
        await waitFor(() => events.length === 2, 3000, "john removed");
        expect(events).toEqual(["added john (John Smith)", "removed john"]);
        for (const item of open.splice(0)) {
            await item.close();
        }
        await until(async () => (await memberIds()).length === 0, "an empty channel");
        const occupied = (await (
            await sdk.get({ path: "/channels", params: { filter_by_prefix: "presence-" } })
        ).json()) as {
            channels: Record<string, unknown>;
        };
        expect(occupied.channels).toEqual({});
    });
});
