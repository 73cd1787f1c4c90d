/**
 * Notify's user and broadcast targets (docs/notify.md): real pusher-js listeners on the embedded broker, subscribed
 * through the browser path (the fake access check answers their user), receive exactly what is addressed to them;
 * catch-up works on user and broadcast channels; a notification has exactly one target.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Channel } from "pusher-js";
import { channelForTopic, userTopic, type CatchupAnswer } from "../../protocol";
import { startFakeAccess, type FakeAccess } from "./fake-access";
import {
    BEARER,
    answer,
    connectListener,
    postForm,
    postJson,
    sleep,
    startServer,
    waitFor,
    type Listener,
    type TestServer
} from "./helpers";

const BROWSER = { Cookie: "XASSESSIONID=s", "X-Csrf-Token": "t" };

let access: FakeAccess;
let server: TestServer;
const listeners: Listener[] = [];

beforeAll(async () => {
    access = await startFakeAccess();
    server = await startServer({ MENDIX_APP_URL: access.url });
});

afterAll(async () => {
    for (const listener of listeners) {
        listener.disconnect();
    }
    await server.close();
    await access.close();
});

/** A page of `user` listening to `channel` (the access check answers `user` while it subscribes: one at a time). */
async function listen(user: string, channel: string): Promise<{ received: unknown[]; channel: Channel }> {
    access.user = user;
    const listener = await connectListener(server.url, BROWSER);
    listeners.push(listener);
    const subscribed = await listener.subscribe(channel);
    const received: unknown[] = [];
    subscribed.bind("toast", (payload: unknown) => received.push(payload));
    return { received, channel: subscribed };
}

const notify = (body: unknown) => answer(postJson(`${server.url}/rest/pusher/notify`, body, BEARER));

describe("user notifications", () => {
    it("reach only the named user's pages, wherever they are, whatever the characters of the name", async () => {
        const names = ["Mary Jones", "józef", "john"];
        const pages: Array<Awaited<ReturnType<typeof listen>>> = [];
        for (const name of names) {
            pages.push(await listen(name, channelForTopic(userTopic(name))));
        }
        const result = await notify({ user: "Mary Jones", action: "toast", data: "Your export is ready" });
        expect(result).toEqual({
            status: 200,
            body: { triggered: 1, channels: ["private-user-Mary=20Jones"] }
        });
        await waitFor(() => pages[0].received.length === 1, 3000, "Mary's toast");
        await sleep(100);
        expect(pages[0].received).toEqual([
            expect.objectContaining({
                entity: "",
                guid: "",
                sender: "",
                actionName: "toast",
                data: "Your export is ready"
            })
        ]);
        expect(pages[1].received).toEqual([]);
        expect(pages[2].received).toEqual([]);

        const batch = await answer(
            postJson(
                `${server.url}/rest/pusher/notify/batch`,
                {
                    notifications: [
                        { user: "józef", action: "toast" },
                        { user: "john", action: "toast" }
                    ]
                },
                BEARER
            )
        );
        expect(batch.body).toEqual({ triggered: 2, channels: ["private-user-j=C3=B3zef", "private-user-john"] });
        await waitFor(() => pages[1].received.length === 1 && pages[2].received.length === 1, 3000, "both toasts");
    });
});

describe("broadcast notifications", () => {
    it("reach every signed-in user's page listening to the broadcast", async () => {
        const pages: Array<Awaited<ReturnType<typeof listen>>> = [];
        for (const user of ["john", "mary", "eve"]) {
            pages.push(await listen(user, "private-broadcast-maintenance"));
        }
        const other = await listen("john", "private-broadcast-release");
        const result = await notify({ broadcast: "maintenance", action: "toast", data: "Down at 18:00" });
        expect(result.body).toEqual({ triggered: 1, channels: ["private-broadcast-maintenance"] });
        await waitFor(() => pages.every(page => page.received.length === 1), 3000, "every page's banner");
        await sleep(100);
        expect(other.received).toEqual([]);
    });
});

describe("catch-up on user and broadcast channels", () => {
    it("gives a user's page that comes back the notification it missed", async () => {
        const channel = channelForTopic(userTopic("Mary Jones"));
        const auth = (cursor?: string) =>
            answer(
                postForm(
                    `${server.url}/rest/pusher/auth`,
                    {
                        socket_id: "1.2",
                        channel_name: channel,
                        user: "Mary Jones",
                        ...(cursor ? { catchup: cursor } : {})
                    },
                    BEARER
                )
            );
        const first = (await auth()).body.catchup as CatchupAnswer;
        await notify({ user: "Mary Jones", action: "toast", data: "missed" });
        const again = (await auth(`${first.epoch}:${first.seq}`)).body.catchup as CatchupAnswer;
        expect(again.missed).toEqual([expect.objectContaining({ actionName: "toast", data: "missed" })]);
    });

    it("and the same for a broadcast", async () => {
        const auth = (cursor?: string) =>
            answer(
                postForm(
                    `${server.url}/rest/pusher/auth`,
                    {
                        socket_id: "1.2",
                        channel_name: "private-broadcast-release",
                        ...(cursor ? { catchup: cursor } : {})
                    },
                    BEARER
                )
            );
        const first = (await auth()).body.catchup as CatchupAnswer;
        await notify({ broadcast: "release", action: "toast", data: "v2 is deployed" });
        const again = (await auth(`${first.epoch}:${first.seq}`)).body.catchup as CatchupAnswer;
        expect(again.missed).toEqual([expect.objectContaining({ data: "v2 is deployed" })]);
    });
});

describe("exactly one target", () => {
    it.each([
        [{ topic: "Sales.Order.1", user: "john" }, "", /has topic and user: send exactly one target/],
        [{ user: "john", broadcast: "all" }, "", /has user and broadcast/],
        [{ entity: "Sales.Order", guid: "1", user: "john" }, "", /has entity and guid and user/],
        [{ guid: "1", broadcast: "all" }, "", /has entity and guid and broadcast/],
        [{ user: "" }, "user", /The user name is empty/],
        [{ user: 7 }, "user", /user must be a string/],
        [{ user: "x".repeat(152) }, "user", /of 165 characters; Pusher allows at most 164/],
        [{ user: "a\ud800" }, "user", /unpaired surrogate/],
        [{ broadcast: "" }, "broadcast", /The broadcast name is empty/],
        [{ broadcast: "a b" }, "broadcast", /characters that are not allowed/],
        [{ broadcast: "x".repeat(147) }, "broadcast", /at most 146/],
        [{ topic: "user-=6Aohn" }, "topic", /does not hold an encoded user name/],
        [{ topic: "broadcast-" }, "topic", /names no broadcast/]
    ])("%j -> 400 naming the problem", async (target, path, message) => {
        const { status, body } = await notify({ ...target, action: "toast" });
        expect(status).toBe(400);
        expect(body.error.code).toBe("invalid_request");
        expect(body.error.details).toEqual(expect.arrayContaining([{ path, message: expect.stringMatching(message) }]));
    });

    it("a topic with entity and guid stays one target (entity and guid fill the payload); null counts as absent", async () => {
        expect(
            (await notify({ topic: "Sales.Order.number.1", entity: "Sales.Order", guid: "1", action: "x" })).status
        ).toBe(200);
        expect((await notify({ user: "john", topic: null, entity: null, broadcast: null, action: "x" })).body).toEqual({
            triggered: 1,
            channels: ["private-user-john"]
        });
        expect((await notify({ topic: "user-john", action: "x" })).body.channels).toEqual(["private-user-john"]);
    });
});
