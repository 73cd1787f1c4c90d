/**
 * `POST /rest/pusher/auth` for presence, user and broadcast channels (docs/access-check.md): the access check gets the
 * channel's `kind`; presence members come from its answer (user, displayName), never from the request; a user channel
 * is signed only for its own user; a broadcast for any signed-in user; a relaying Mendix app names the user.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { channelForTopic, userTopic } from "../../protocol";
import { startFakeAccess, type FakeAccess } from "./fake-access";
import { BEARER, answer, postForm, postJson, startServer, type TestServer } from "./helpers";

const SOCKET = "123.456";
const TOPIC = "Sales.Order.281474976710657";
const PRESENCE = `presence-${TOPIC}`;
const BROWSER = { Cookie: "XASSESSIONID=session-1", "X-Csrf-Token": "csrf-token-1" };
const BROKER = { BROKER_APP_ID: "1", BROKER_KEY: "authkey", BROKER_SECRET: "authsecret" };

const sign = (text: string) => `authkey:${createHmac("sha256", "authsecret").update(text).digest("hex")}`;

let access: FakeAccess;
let server: TestServer;
let auth: string;

beforeAll(async () => {
    access = await startFakeAccess();
    server = await startServer({ ...BROKER, MENDIX_APP_URL: access.url, MENDIX_TIMEOUT_MS: "500" });
    auth = `${server.url}/rest/pusher/auth`;
});

afterAll(async () => {
    await server.close();
    await access.close();
});

beforeEach(() => {
    access.mode = "allow";
    access.user = "john";
    access.displayName = undefined;
});

const lastCheck = () => access.requests[access.requests.length - 1].body;

describe("presence channels", () => {
    it("signs socket_id:channel:channel_data with the member from the access check (user and displayName)", async () => {
        access.displayName = "John Smith";
        const { status, body } = await answer(postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, BROWSER));
        expect(status).toBe(200);
        const member = '{"user_id":"john","user_info":{"name":"John Smith"}}';
        expect(body).toEqual({
            auth: sign(`${SOCKET}:${PRESENCE}:${member}`),
            channel_data: member,
            catchup: { epoch: expect.any(String), seq: expect.any(Number) }
        });
        // Checked like the object's private channel.
        expect(lastCheck()).toEqual({ channel: PRESENCE, topic: TOPIC, kind: "object" });
    });

    it("shows the user name when the access check answers no display name (absent, null or empty)", async () => {
        for (const displayName of [undefined, null, ""]) {
            access.displayName = displayName;
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, BROWSER)
            );
            expect(status).toBe(200);
            expect(JSON.parse(body.channel_data as string)).toEqual({ user_id: "john", user_info: { name: "john" } });
        }
    });

    it("ignores a channel_data (and user) sent by the browser: the identity is the access check's", async () => {
        const forged = JSON.stringify({ user_id: "admin", user_info: { name: "Administrator" } });
        for (const send of [postForm, postJson]) {
            const { status, body } = await answer(
                send(auth, { socket_id: SOCKET, channel_name: PRESENCE, channel_data: forged, user: "admin" }, BROWSER)
            );
            expect(status).toBe(200);
            const member = '{"user_id":"john","user_info":{"name":"john"}}';
            expect(body.channel_data).toBe(member);
            expect(body.auth).toBe(sign(`${SOCKET}:${PRESENCE}:${member}`));
            expect(body.auth).not.toBe(sign(`${SOCKET}:${PRESENCE}:${forged}`));
        }
    });

    it("refuses like the object: 401 without a session, 403 without access, never signing", async () => {
        access.mode = "unauthenticated";
        const noSession = await answer(postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, {}));
        expect(noSession.status).toBe(401);
        expect(noSession.body.error.code).toBe("not_authenticated");
        access.mode = "forbidden";
        const refused = await answer(postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, BROWSER));
        expect(refused.status).toBe(403);
        expect(refused.body.error).toMatchObject({ code: "forbidden", message: "You may not listen to this object." });
        for (const result of [noSession, refused]) {
            expect(JSON.stringify(result.body)).not.toMatch(/"auth"|channel_data/);
        }
    });

    it("answers 503 for a display name that is not a string or longer than 200 characters", async () => {
        for (const displayName of [42, { name: "x" }, ["x"], true, "x".repeat(201)]) {
            access.displayName = displayName;
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, BROWSER)
            );
            expect(status, JSON.stringify(displayName)).toBe(503);
            expect(body.error.code).toBe("access_check_unavailable");
            expect(body.error.details.reason).toMatch(/displayName/);
        }
        access.displayName = "x".repeat(200);
        expect((await answer(postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, BROWSER))).status).toBe(200);
    });

    it("answers 403 for a user name longer than a presence member id may be (128 characters)", async () => {
        access.user = "u".repeat(129);
        const { status, body } = await answer(postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, BROWSER));
        expect(status).toBe(403);
        expect(body.error.message).toMatch(/at most 128/);
    });

    it("a relaying Mendix app (API key) names the member with user and displayName; without user: 400", async () => {
        const relayed = await answer(
            postForm(
                auth,
                { socket_id: SOCKET, channel_name: PRESENCE, user: "mary", displayName: "Mary Jones" },
                BEARER
            )
        );
        expect(relayed.status).toBe(200);
        expect(relayed.body.channel_data).toBe('{"user_id":"mary","user_info":{"name":"Mary Jones"}}');
        const anonymous = await answer(postForm(auth, { socket_id: SOCKET, channel_name: PRESENCE }, BEARER));
        expect(anonymous.status).toBe(400);
        expect(anonymous.body.error.details).toEqual([{ path: "user", message: "is required for presence channels" }]);
    });

    it("refuses presence channels of user and broadcast topics, and of invalid topics, with 400 naming the problem", async () => {
        for (const [channel, problem] of [
            ["presence-user-john", /presence channels exist only for object topics/],
            ["presence-broadcast-all", /presence channels exist only for object topics/],
            ["presence-", /The topic is empty/],
            ["presence-a b", /characters that are not allowed/],
            ["presence-encrypted-x", /end-to-end encrypted/]
        ] as const) {
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: channel }, BROWSER)
            );
            expect(status, channel).toBe(400);
            expect(body.error.details).toEqual([{ path: "channel_name", message: expect.stringMatching(problem) }]);
        }
    });
});

describe("user channels", () => {
    const channelOf = (user: string) => channelForTopic(userTopic(user));

    it("signs a user's own channel after the access check (kind user), for any characters in the name", async () => {
        for (const user of ["john", "Mary Jones", "józef", "a=b", "ann+test@example.com", "李", "😀"]) {
            access.user = user;
            const channel = channelOf(user);
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: channel }, BROWSER)
            );
            expect(status, user).toBe(200);
            expect(body.auth).toBe(sign(`${SOCKET}:${channel}`));
            expect(lastCheck()).toEqual({ channel, topic: userTopic(user), kind: "user" });
        }
    });

    it("refuses another user's channel with 403, never signing (exact, case-sensitive)", async () => {
        for (const other of ["mary", "John", "john ", "admin"]) {
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: channelOf(other) }, BROWSER)
            );
            expect(status, other).toBe(403);
            expect(body.error).toMatchObject({
                code: "forbidden",
                message: "You may not listen to another user's notifications."
            });
            expect(body).not.toHaveProperty("auth");
        }
    });

    it("answers 401 without a session and 403 when the app refuses", async () => {
        access.mode = "unauthenticated";
        expect((await answer(postForm(auth, { socket_id: SOCKET, channel_name: channelOf("john") }, {}))).status).toBe(
            401
        );
        access.mode = "forbidden";
        const refused = await answer(postForm(auth, { socket_id: SOCKET, channel_name: channelOf("john") }, BROWSER));
        expect(refused.status).toBe(403);
        expect(refused.body.error.message).toBe("The Mendix app refused this subscription.");
    });

    it("refuses a malformed encoding with 400 naming the problem, without asking the Mendix app", async () => {
        const before = access.requests.length;
        for (const channel of [
            "private-user-",
            "private-user-=6Aohn",
            "private-user-j=c3=b3zef",
            "private-user-=C3",
            "private-user-=FF",
            "private-user-a,b",
            "private-user-a=2"
        ]) {
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: channel }, BROWSER)
            );
            expect(status, channel).toBe(400);
            expect(body.error.code).toBe("invalid_request");
            expect(body.error.details).toEqual([
                { path: "channel_name", message: expect.stringMatching(/does not hold an encoded user name/) }
            ]);
        }
        expect(access.requests.length).toBe(before);
    });

    it("a relaying Mendix app: signed only when user is the channel's user; without user: 400", async () => {
        const mine = await answer(
            postForm(auth, { socket_id: SOCKET, channel_name: channelOf("Mary Jones"), user: "Mary Jones" }, BEARER)
        );
        expect(mine.status).toBe(200);
        expect(mine.body.auth).toBe(sign(`${SOCKET}:${channelOf("Mary Jones")}`));
        const other = await answer(
            postForm(auth, { socket_id: SOCKET, channel_name: channelOf("Mary Jones"), user: "john" }, BEARER)
        );
        expect(other.status).toBe(403);
        const none = await answer(postForm(auth, { socket_id: SOCKET, channel_name: channelOf("john") }, BEARER));
        expect(none.status).toBe(400);
        expect(none.body.error.details).toEqual([{ path: "user", message: "is required for user channels" }]);
    });
});

describe("broadcast channels", () => {
    it("signs for any signed-in user (the access check with kind broadcast answers 200)", async () => {
        for (const user of ["john", "mary"]) {
            access.user = user;
            const { status, body } = await answer(
                postForm(auth, { socket_id: SOCKET, channel_name: "private-broadcast-maintenance" }, BROWSER)
            );
            expect(status).toBe(200);
            expect(body.auth).toBe(sign(`${SOCKET}:private-broadcast-maintenance`));
            expect(lastCheck()).toEqual({
                channel: "private-broadcast-maintenance",
                topic: "broadcast-maintenance",
                kind: "broadcast"
            });
        }
    });

    it("answers 401 without a session, and 400 for a broadcast channel without a name", async () => {
        access.mode = "unauthenticated";
        const noSession = await answer(
            postForm(auth, { socket_id: SOCKET, channel_name: "private-broadcast-all" }, {})
        );
        expect(noSession.status).toBe(401);
        const unnamed = await answer(
            postForm(auth, { socket_id: SOCKET, channel_name: "private-broadcast-" }, BROWSER)
        );
        expect(unnamed.status).toBe(400);
        expect(unnamed.body.error.details[0].message).toMatch(/names no broadcast/);
    });

    it("a relaying Mendix app signs broadcasts without naming a user", async () => {
        const { status } = await answer(
            postForm(auth, { socket_id: SOCKET, channel_name: "private-broadcast-all" }, BEARER)
        );
        expect(status).toBe(200);
    });
});
