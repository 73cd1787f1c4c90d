/**
 * Catch-up over the real HTTP API (docs/architecture-catchup.md): the `catchup` of `POST /rest/pusher/auth` with and
 * without a cursor, in embedded and in PUSHER_HOST mode; the resend of a notification that reached the broker while a
 * widget was between its authorization and its subscription; 503 with Retry-After when the access checks are busy.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CATCH_UP_EVENT, type CatchupAnswer, type StampedPayload } from "../../protocol";
import { RESEND_DELAY_MS } from "../../server/catchup";
import { startFakeAccess, type FakeAccess } from "./fake-access";
import { startFakePusher, type FakePusher } from "./fake-pusher";
import {
    BEARER,
    answer,
    connectListener,
    postForm,
    postJson,
    sleep,
    startServer,
    waitFor,
    type TestServer
} from "./helpers";

const TOPIC = "Sales.Order.281474976710657";
const CHANNEL = `private-${TOPIC}`;

interface AuthBody {
    auth: string;
    catchup: CatchupAnswer;
}

async function authorize(server: TestServer, cursor?: string, channel = CHANNEL) {
    const form: Record<string, string> = { socket_id: "1.2", channel_name: channel };
    if (cursor !== undefined) {
        form.catchup = cursor;
    }
    return answer(postForm(`${server.url}/rest/pusher/auth`, form, BEARER));
}

async function notify(server: TestServer, action: string, data: string, topic = TOPIC) {
    const result = await answer(postJson(`${server.url}/rest/pusher/notify`, { topic, action, data }, BEARER));
    expect(result.status).toBe(200);
}

const cursorOf = (catchup: CatchupAnswer) => `${catchup.epoch}:${catchup.seq}`;

describe("catch-up in the channel authorization (embedded broker)", () => {
    let server: TestServer;
    beforeAll(async () => {
        server = await startServer();
    });
    afterAll(async () => {
        await server.close();
    });

    it("gives a first subscription its position, and a resubscription the latest missed notification per action", async () => {
        const first = await authorize(server);
        expect(first.status).toBe(200);
        const start = (first.body as AuthBody).catchup;
        expect(start).toEqual({ epoch: server.running.catchup.store.epoch, seq: expect.any(Number) });

        await notify(server, "refresh", "one");
        await notify(server, "refresh", "two");
        await notify(server, "showMessage", "message");
        await notify(server, "refresh", "three");
        await notify(server, "refresh", "elsewhere", "Sales.Order.2");

        const again = await authorize(server, cursorOf(start));
        expect(again.status).toBe(200);
        const { catchup } = again.body as AuthBody;
        expect(catchup.lost).toBeUndefined();
        expect(catchup.missed!.map(payload => [payload.actionName, payload.data])).toEqual([
            ["showMessage", "message"],
            ["refresh", "three"]
        ]);
        for (const payload of catchup.missed!) {
            expect(payload).toMatchObject({ entity: "Sales.Order", epoch: catchup.epoch, seq: expect.any(Number) });
            expect(payload.seq).toBeLessThan(catchup.seq);
        }

        // Nothing new since: nothing missed (what lies within the reorder window is handed out, the widget skips it).
        const latest = catchup.missed![1].seq;
        const nothing = await authorize(server, `${catchup.epoch}:${latest + 3_000_000}`);
        expect((nothing.body as AuthBody).catchup.missed).toEqual([]);
    });

    it("takes an empty cursor as none (a relay that always sends the field)", async () => {
        const result = await authorize(server, "");
        expect(result.status).toBe(200);
        expect((result.body as AuthBody).catchup.missed).toBeUndefined();
    });

    it("says 'restart' for a cursor of another epoch", async () => {
        await notify(server, "refresh", "after the restart");
        const result = await authorize(server, "someOtherEpoch:1764583200000123");
        const { catchup } = result.body as AuthBody;
        expect(catchup.lost).toBe("restart");
        expect(catchup.missed!.at(-1)).toMatchObject({ actionName: "refresh", data: "after the restart" });
    });

    it("refuses a cursor that is not <epoch>:<seq> with 400 invalid_request", async () => {
        for (const cursor of ["epoch", "a b:1", "epoch:-1", "epoch:12345678901234567", `${"e".repeat(33)}:1`]) {
            const result = await authorize(server, cursor);
            expect(result.status, cursor).toBe(400);
            expect(result.body.error.code).toBe("invalid_request");
            expect(result.body.error.details).toEqual([expect.objectContaining({ path: "catchup" })]);
        }
    });

    it("sends a notification again, as the catch-up event, that came right after a resubscription's answer", async () => {
        const listener = await connectListener(server.url);
        try {
            const events: Array<{ event: string; data: StampedPayload }> = [];
            const channel = await listener.subscribe(CHANNEL);
            channel.bind_global((event: string, data: StampedPayload) => {
                if (!event.startsWith("pusher")) {
                    events.push({ event, data });
                }
            });
            const { catchup } = (await authorize(server)).body as AuthBody;
            // Another page subscribes again: its answer is computed now; the next notification may reach the broker
            // before that page's subscription, so it comes once more a moment later, under the catch-up event.
            await authorize(server, cursorOf(catchup));
            await notify(server, "refresh", "in the gap");
            await waitFor(() => events.length === 1, 3_000, "the live event");
            expect(events[0]).toMatchObject({ event: "refresh", data: { data: "in the gap" } });
            await sleep(RESEND_DELAY_MS + 300);
            expect(events).toHaveLength(2);
            expect(events[1].event).toBe(CATCH_UP_EVENT);
            // The same payload, same seq: a widget that saw the live event skips it.
            expect(events[1].data).toEqual(events[0].data);
            // Later notifications are not sent again.
            await notify(server, "refresh", "later");
            await sleep(RESEND_DELAY_MS + 300);
            expect(events.map(entry => entry.event)).toEqual(["refresh", CATCH_UP_EVENT, "refresh"]);
        } finally {
            listener.disconnect();
        }
    });
});

describe("catch-up through a Pusher-compatible host (PUSHER_HOST, fake Pusher HTTP API)", () => {
    let fake: FakePusher;
    let server: TestServer;
    beforeAll(async () => {
        fake = await startFakePusher();
        server = await startServer({ ...fake.env });
    });
    afterAll(async () => {
        await server.close();
        await fake.close();
    });

    it("stamps what it triggers and hands out what a resubscribing widget missed", async () => {
        const start = ((await authorize(server)).body as AuthBody).catchup;
        await notify(server, "refresh", "via the host");
        const sent = JSON.parse((fake.calls.at(-1)!.body as { data: string }).data) as StampedPayload;
        expect(sent).toMatchObject({ data: "via the host", epoch: start.epoch, seq: expect.any(Number) });
        const { catchup } = (await authorize(server, cursorOf(start))).body as AuthBody;
        expect(catchup.missed).toEqual([sent]);
    });
});

describe("access checks when every page authorizes at once", () => {
    let access: FakeAccess;
    let server: TestServer;
    beforeAll(async () => {
        access = await startFakeAccess();
    });
    afterEach(async () => {
        await server?.close();
    });
    afterAll(async () => {
        await access.close();
    });

    it("answers 503 access_check_unavailable with Retry-After past the queue timeout, never more checks at once", async () => {
        server = await startServer({
            MENDIX_APP_URL: access.url,
            MENDIX_MAX_CONCURRENT: "2",
            MENDIX_QUEUE_LIMIT: "2",
            MENDIX_QUEUE_TIMEOUT_MS: "200",
            MENDIX_TIMEOUT_MS: "2000",
            RATE_LIMIT_AUTH: "10000"
        });
        access.mode = "hang";
        const browser = { Cookie: "XASSESSIONID=s1", "X-Csrf-Token": "t1" };
        const results = await Promise.all(
            Array.from({ length: 6 }, (_unused, index) =>
                answer(
                    postForm(
                        `${server.url}/rest/pusher/auth`,
                        { socket_id: `1.${index}`, channel_name: CHANNEL },
                        browser
                    )
                )
            )
        );
        // 2 ran and hung until MENDIX_TIMEOUT_MS, 2 waited 200 ms, 2 found the queue full: 503 for all, and the
        // app never saw more than 2 at once.
        expect(results.map(result => result.status)).toEqual([503, 503, 503, 503, 503, 503]);
        expect(results.every(result => result.body.error.code === "access_check_unavailable")).toBe(true);
        const reasons = results.map(result => result.body.error.details.reason as string);
        expect(reasons.filter(reason => /within 200 ms/.test(reason))).toHaveLength(2);
        expect(reasons.filter(reason => /too many access checks are waiting/.test(reason))).toHaveLength(2);
        expect(access.requests.length).toBe(2);
    });

    it("says when to try again: Retry-After between 1 s and the queue timeout", async () => {
        server = await startServer({
            MENDIX_APP_URL: access.url,
            MENDIX_MAX_CONCURRENT: "1",
            MENDIX_QUEUE_LIMIT: "0",
            MENDIX_QUEUE_TIMEOUT_MS: "3000",
            RATE_LIMIT_AUTH: "10000"
        });
        access.mode = "hang";
        const browser = { Cookie: "XASSESSIONID=s1", "X-Csrf-Token": "t1" };
        const form = { socket_id: "1.1", channel_name: CHANNEL };
        const hanging = fetch(`${server.url}/rest/pusher/auth`, {
            method: "POST",
            headers: { ...browser, "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams(form).toString()
        });
        await waitFor(() => access.requests.length >= 1, 2_000, "the first check");
        const refused = await postForm(`${server.url}/rest/pusher/auth`, form, browser);
        expect(refused.status).toBe(503);
        const retryAfter = Number(refused.headers.get("Retry-After"));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(3);
        await refused.text();
        access.mode = "allow";
        await (await hanging).text();
    });
});

describe("catch-up runs in the metrics", () => {
    const METRICS_TOKEN = "catchup-metrics-token-0123456789abcdefgh";
    let server: TestServer;
    beforeAll(async () => {
        server = await startServer({ METRICS_TOKEN });
    });
    afterAll(async () => {
        await server.close();
    });

    async function runs(): Promise<Record<string, number>> {
        const response = await fetch(`${server.url}/metrics`, {
            headers: { Authorization: `Bearer ${METRICS_TOKEN}` }
        });
        const text = await response.text();
        const counts: Record<string, number> = {};
        for (const match of text.matchAll(/^notifylisten_catchup_runs_total\{result="(\w+)"\} (\d+)$/gm)) {
            counts[match[1]] = Number(match[2]);
        }
        return counts;
    }

    it("counts each resubscription's catch-up by result, and nothing for a first subscription", async () => {
        const first = ((await authorize(server)).body as AuthBody).catchup;
        expect(await runs()).toMatchObject({ missed: 0, nothing_missed: 0, lost: 0 });

        await notify(server, "refresh", "while away");
        expect(((await authorize(server, cursorOf(first))).body as AuthBody).catchup.missed).toHaveLength(1);
        await authorize(server, `otherepoch12:${first.seq}`);
        expect(await runs()).toMatchObject({ missed: 1, lost: 1 });
    });
});
