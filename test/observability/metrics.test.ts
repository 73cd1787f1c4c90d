/**
 * GET /metrics against a real server on 127.0.0.1 with real sockets: off without METRICS_TOKEN, refused without
 * the token, and every figure moves as expected after real actions (a pusher-js page connecting, subscribing,
 * receiving and leaving; notify and batch; auth refused by the Mendix access check; rate limits; protocol errors;
 * the connection cap). The text parses with Prometheus' own parser (promtool) and a strict reader.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeAccess, type FakeAccess } from "../api/fake-access";
import { startFakePusher, type FakePusher } from "../api/fake-pusher";
import {
    BEARER,
    answer,
    connectListener,
    postForm,
    postJson,
    startServer,
    type Listener,
    type TestServer
} from "../api/helpers";
import { openEstablishedSocket, openRawSocket } from "../broker/helpers";
import {
    METRICS_BEARER,
    METRICS_TOKEN,
    basic,
    eventually,
    parseScrape,
    promtool,
    promtoolForTests,
    scrape
} from "./helpers";

const PROMTOOL = promtoolForTests();

const ORDER = { entity: "Sales.Order", guid: "281474976710657" };
const CHANNEL = `private-${ORDER.entity}.${ORDER.guid}`;

function wsUrl(server: TestServer): string {
    const { key } = server.running.broker!;
    return `${server.url.replace("http", "ws")}/app/${key}?protocol=7&client=test&version=1`;
}

describe("off unless METRICS_TOKEN is set", () => {
    it("serves neither /metrics nor the console without it", async () => {
        const server = await startServer();
        try {
            for (const path of ["/metrics", "/console", "/console/data.json", "/console/console.js"]) {
                const { status, body } = await answer(fetch(`${server.url}${path}`, { headers: METRICS_BEARER }));
                expect(status, path).toBe(404);
                expect(body.error.code).toBe("not_found");
            }
        } finally {
            await server.close();
        }
    });
});

describe("GET /metrics needs the token", () => {
    let server: TestServer;
    beforeAll(async () => {
        server = await startServer({ METRICS_TOKEN, LOG_LEVEL: "trace" });
    });
    afterAll(() => server.close());

    it("answers 401 missing_metrics_token without Authorization, with a Bearer challenge", async () => {
        const response = await fetch(`${server.url}/metrics`);
        const { status, body } = await answer(response);
        expect(status).toBe(401);
        expect(body.error.code).toBe("missing_metrics_token");
        expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="notifylisten-metrics"/);
        expect(response.headers.get("cache-control")).toBe("no-store");
    });

    it("answers 401 invalid_metrics_token for a wrong token, the API key, or a token in the query string", async () => {
        const attempts: Array<{ path: string; headers: Record<string, string> }> = [
            { path: "/metrics", headers: { Authorization: `Bearer ${METRICS_TOKEN}x` } },
            { path: "/metrics", headers: BEARER },
            { path: "/metrics", headers: basic("wrong-password") },
            { path: "/metrics", headers: { Authorization: "Basic !!!" } },
            { path: "/metrics", headers: { Authorization: `Token ${METRICS_TOKEN}` } }
        ];
        for (const attempt of attempts) {
            const { status, body } = await answer(fetch(`${server.url}${attempt.path}`, { headers: attempt.headers }));
            expect(status, JSON.stringify(attempt.headers)).toBe(401);
            expect(body.error.code).toBe("invalid_metrics_token");
        }
        const query = await answer(fetch(`${server.url}/metrics?token=${METRICS_TOKEN}`));
        expect(query.status).toBe(401);
        expect(query.body.error.code).toBe("missing_metrics_token");
    });

    it("accepts the token as Bearer and as the password of HTTP Basic, and never logs it", async () => {
        const bearer = await scrape(server.url);
        expect(bearer.family("notifylisten_connections")?.type).toBe("gauge");
        const viaBasic = await scrape(server.url, basic(METRICS_TOKEN, "prometheus"));
        expect(viaBasic.family("notifylisten_auth_total")?.type).toBe("counter");
        expect(bearer.text).not.toContain(METRICS_TOKEN);
        // Every answer, right token or wrong, and every log line (LOG_LEVEL=trace) is free of the token.
        for (const path of ["/console", "/console/data.json", "/console/console.js", "/metrics"]) {
            for (const headers of [
                METRICS_BEARER,
                basic(METRICS_TOKEN),
                { Authorization: `Bearer ${METRICS_TOKEN}!` }
            ]) {
                const response = await fetch(`${server.url}${path}`, { headers });
                const seen = `${JSON.stringify([...response.headers])}${await response.text()}`;
                expect(seen, path).not.toContain(METRICS_TOKEN);
            }
        }
        expect(server.logs.length).toBeGreaterThan(10);
        expect(server.logs.join("\n")).not.toContain(METRICS_TOKEN);
    });
});

describe("metrics move after real actions (embedded broker)", () => {
    let server: TestServer;
    let access: FakeAccess;
    const listeners: Listener[] = [];

    beforeAll(async () => {
        access = await startFakeAccess("allow");
        server = await startServer({ METRICS_TOKEN, MENDIX_APP_URL: access.url, RATE_LIMIT_AUTH: "1000" });
    });
    afterEach(() => {
        for (const listener of listeners.splice(0)) {
            listener.disconnect();
        }
    });
    afterAll(async () => {
        await server.close();
        await access.close();
    });

    it("counts a page that connects, subscribes, receives notifications and leaves", async () => {
        const before = await scrape(server.url);
        const listener = await connectListener(server.url);
        listeners.push(listener);
        await eventually(async () => {
            const now = await scrape(server.url);
            expect(now.value("notifylisten_connections")).toBe(before.value("notifylisten_connections") + 1);
            expect(now.value("notifylisten_connections_opened_total")).toBe(
                before.value("notifylisten_connections_opened_total") + 1
            );
        });

        await listener.subscribe(CHANNEL);
        const subscribed = await scrape(server.url);
        expect(subscribed.value("notifylisten_subscriptions", { kind: "private" })).toBe(1);
        expect(subscribed.value("notifylisten_channels", { kind: "private" })).toBe(1);
        expect(subscribed.value("notifylisten_subscriptions_total", { kind: "private" })).toBe(
            before.value("notifylisten_subscriptions_total", { kind: "private" }) + 1
        );
        expect(subscribed.value("notifylisten_subscriptions", { kind: "presence" })).toBe(0);
        // The relayed authorization (Bearer API key) was signed.
        expect(subscribed.value("notifylisten_auth_total", { outcome: "signed" })).toBe(
            before.value("notifylisten_auth_total", { outcome: "signed" }) + 1
        );

        const received: unknown[] = [];
        listener.client.channel(CHANNEL).bind("refresh", (payload: unknown) => received.push(payload));
        expect(
            (await postJson(`${server.url}/rest/pusher/notify`, { ...ORDER, action: "refresh" }, BEARER)).status
        ).toBe(200);
        const batch = await postJson(
            `${server.url}/rest/pusher/notify/batch`,
            {
                notifications: [
                    { ...ORDER, action: "refresh", data: "one" },
                    { ...ORDER, action: "refresh", data: "two" },
                    { topic: "Sales.Order.number.42", action: "refresh" }
                ]
            },
            BEARER
        );
        expect(batch.status).toBe(200);
        await eventually(async () => expect(received).toHaveLength(3));

        const after = await scrape(server.url);
        const delta = (name: string, labels?: Record<string, string>) =>
            after.value(name, labels) - before.value(name, labels);
        expect(delta("notifylisten_notifications_total", { route: "single" })).toBe(1);
        expect(delta("notifylisten_notifications_total", { route: "batch" })).toBe(3);
        expect(delta("notifylisten_notifications_failed_total")).toBe(0);
        expect(delta("notifylisten_broker_events_total")).toBe(4);
        // Three of the four reached the one listening socket; the key topic had no listener.
        expect(delta("notifylisten_frames_delivered_total")).toBe(3);
        const receivers = after.histogram("notifylisten_event_receivers");
        const receiversBefore = before.histogram("notifylisten_event_receivers");
        expect(receivers.count - receiversBefore.count).toBe(4);
        expect(receivers.buckets["0"] - receiversBefore.buckets["0"]).toBe(1);
        expect(receivers.buckets["1"] - receiversBefore.buckets["1"]).toBe(4);
        expect(after.histogram("notifylisten_notify_duration_seconds", { route: "single" }).count).toBe(
            before.histogram("notifylisten_notify_duration_seconds", { route: "single" }).count + 1
        );
        expect(after.histogram("notifylisten_notify_duration_seconds", { route: "batch" }).count).toBe(
            before.histogram("notifylisten_notify_duration_seconds", { route: "batch" }).count + 1
        );
        const payloads = after.histogram("notifylisten_notification_payload_bytes");
        const payloadsBefore = before.histogram("notifylisten_notification_payload_bytes");
        expect(payloads.count - payloadsBefore.count).toBe(4);
        expect(payloads.sum - payloadsBefore.sum).toBeGreaterThan(4 * 80);
        expect(payloads.buckets["64"] - payloadsBefore.buckets["64"]).toBe(0);

        listener.disconnect();
        listeners.length = 0;
        await eventually(async () => {
            const gone = await scrape(server.url);
            expect(gone.value("notifylisten_connections")).toBe(before.value("notifylisten_connections"));
            expect(gone.value("notifylisten_subscriptions", { kind: "private" })).toBe(0);
            expect(gone.value("notifylisten_channels", { kind: "private" })).toBe(0);
            expect(gone.value("notifylisten_connections_closed_total")).toBe(
                before.value("notifylisten_connections_closed_total") + 1
            );
        });
    });

    it("counts closes by close code, with codes it does not know as other", async () => {
        const before = await scrape(server.url);
        const normal = await openEstablishedSocket(wsUrl(server));
        normal.ws.close(1000);
        await normal.closed;
        const odd = await openEstablishedSocket(wsUrl(server));
        odd.ws.close(4999, "client's own code");
        await odd.closed;
        await eventually(async () => {
            const after = await scrape(server.url);
            expect(after.value("notifylisten_connections_closed_total", { code: "1000" })).toBe(
                before.value("notifylisten_connections_closed_total", { code: "1000" }) + 1
            );
            expect(after.value("notifylisten_connections_closed_total", { code: "other" })).toBe(
                before.value("notifylisten_connections_closed_total", { code: "other" }) + 1
            );
            expect(after.text).not.toContain('code="4999"');
        });
    });

    it("counts auth outcomes and times the access check by outcome", async () => {
        const before = await scrape(server.url);
        const browser = { Cookie: "XASSESSIONID=abc", "X-Csrf-Token": "token" };
        const authorize = () =>
            postForm(`${server.url}/rest/pusher/auth`, { socket_id: "123.456", channel_name: CHANNEL }, browser);

        access.mode = "allow";
        access.delayMs = 100;
        expect((await authorize()).status).toBe(200);
        access.delayMs = 0;
        access.mode = "forbidden";
        expect((await authorize()).status).toBe(403);
        access.mode = "unauthenticated";
        expect((await authorize()).status).toBe(401);
        access.mode = "error";
        expect((await authorize()).status).toBe(503);
        access.mode = "allow";
        // Refused before any access check: a socket id that is not "<digits>.<digits>".
        const invalid = await postForm(`${server.url}/rest/pusher/auth`, { socket_id: "x", channel_name: CHANNEL });
        expect(invalid.status).toBe(400);

        const after = await scrape(server.url);
        const auth = (outcome: string) =>
            after.value("notifylisten_auth_total", { outcome }) - before.value("notifylisten_auth_total", { outcome });
        expect(auth("signed")).toBe(1);
        expect(auth("forbidden")).toBe(1);
        expect(auth("unauthenticated")).toBe(1);
        expect(auth("unavailable")).toBe(1);
        expect(auth("invalid")).toBe(1);
        expect(auth("error")).toBe(0);

        const checks = (outcome: string) =>
            after.histogram("notifylisten_access_check_duration_seconds", { outcome }).count -
            before.histogram("notifylisten_access_check_duration_seconds", { outcome }).count;
        expect(checks("allowed")).toBe(1);
        expect(checks("forbidden")).toBe(1);
        expect(checks("not_authenticated")).toBe(1);
        expect(checks("unavailable")).toBe(1);
        // The allowed check waited 100 ms for the app: the histogram measured it, not a constant.
        const allowed = after.histogram("notifylisten_access_check_duration_seconds", { outcome: "allowed" });
        const allowedBefore = before.histogram("notifylisten_access_check_duration_seconds", { outcome: "allowed" });
        expect(allowed.sum - allowedBefore.sum).toBeGreaterThanOrEqual(0.09);
        expect(allowed.buckets["0.05"] - allowedBefore.buckets["0.05"]).toBe(0);
        expect(after.value("notifylisten_access_checks_running")).toBe(0);
        expect(after.value("notifylisten_access_checks_waiting")).toBe(0);
    });

    it("counts protocol errors by code and refused subscriptions by type", async () => {
        const before = await scrape(server.url);
        const socket = await openEstablishedSocket(wsUrl(server));
        socket.send("this is not JSON");
        await socket.next(frame => frame.event === "pusher:error");
        socket.send({ event: "pusher:subscribe", data: { channel: CHANNEL } });
        await socket.next(frame => frame.event === "pusher:subscription_error");
        socket.send({ event: "pusher:subscribe", data: { channel: CHANNEL, auth: "wrong:signature" } });
        await socket.next(frame => frame.event === "pusher:subscription_error");
        await socket.close();
        const after = await scrape(server.url);
        expect(
            after.value("notifylisten_broker_errors_total", { code: "4300" }) -
                before.value("notifylisten_broker_errors_total", { code: "4300" })
        ).toBe(1);
        expect(
            after.value("notifylisten_subscriptions_refused_total", { type: "AuthError" }) -
                before.value("notifylisten_subscriptions_refused_total", { type: "AuthError" })
        ).toBe(2);
        expect(after.value("notifylisten_subscriptions", { kind: "private" })).toBe(0);
    });

    it("reports the connection cap in force", async () => {
        const now = await scrape(server.url);
        const { maxConnections, socketLimit } = server.running.broker!.capacity();
        expect(now.value("notifylisten_connections_limit")).toBe(Math.min(maxConnections, socketLimit ?? Infinity));
    });
});

describe("refusals at the limits", () => {
    it("counts rate-limit refusals by route", async () => {
        const access = await startFakeAccess("allow");
        const server = await startServer({
            METRICS_TOKEN,
            MENDIX_APP_URL: access.url,
            RATE_LIMIT_NOTIFY: "2",
            RATE_LIMIT_AUTH: "1"
        });
        try {
            const notify = () => postJson(`${server.url}/rest/pusher/notify`, { ...ORDER, action: "refresh" }, BEARER);
            expect((await notify()).status).toBe(200);
            expect((await notify()).status).toBe(200);
            expect((await notify()).status).toBe(429);
            const batch = await postJson(
                `${server.url}/rest/pusher/notify/batch`,
                { notifications: [{ ...ORDER, action: "refresh" }] },
                BEARER
            );
            expect(batch.status).toBe(429);
            const authorize = () =>
                postForm(
                    `${server.url}/rest/pusher/auth`,
                    { socket_id: "1.2", channel_name: CHANNEL },
                    { Cookie: "XASSESSIONID=one" }
                );
            expect((await authorize()).status).toBe(200);
            expect((await authorize()).status).toBe(429);

            const metrics = await scrape(server.url);
            expect(metrics.value("notifylisten_rate_limited_total", { route: "notify" })).toBe(1);
            expect(metrics.value("notifylisten_rate_limited_total", { route: "notify_batch" })).toBe(1);
            expect(metrics.value("notifylisten_rate_limited_total", { route: "auth" })).toBe(1);
            expect(metrics.value("notifylisten_auth_total", { outcome: "rate_limited" })).toBe(1);
            expect(metrics.value("notifylisten_auth_total", { outcome: "signed" })).toBe(1);
            // Refused requests never reached the broker.
            expect(metrics.value("notifylisten_notifications_total", { route: "single" })).toBe(2);
            expect(metrics.value("notifylisten_notifications_total", { route: "batch" })).toBe(0);
        } finally {
            await server.close();
            await access.close();
        }
    });

    it("counts sockets refused at the connection cap, by limit", async () => {
        const server = await startServer({ METRICS_TOKEN, BROKER_MAX_CONNECTIONS_PER_ADDRESS: "1" });
        try {
            const first = await openEstablishedSocket(wsUrl(server));
            const second = await openRawSocket(wsUrl(server));
            const refusal = await second.next(frame => frame.event === "pusher:error");
            expect((refusal.data as { code: number }).code).toBe(4100);
            expect((await second.closed).code).toBe(4100);
            const metrics = await scrape(server.url);
            expect(metrics.value("notifylisten_connections_refused_total", { reason: "per_address" })).toBe(1);
            expect(metrics.value("notifylisten_connections_refused_total", { reason: "connections" })).toBe(0);
            expect(metrics.value("notifylisten_broker_errors_total", { code: "4100" })).toBe(1);
            expect(metrics.value("notifylisten_connections")).toBe(1);
            await first.close();
        } finally {
            await server.close();
        }
    });
});

describe("with a Pusher-compatible host (PUSHER_HOST)", () => {
    let fake: FakePusher;
    let server: TestServer;
    beforeAll(async () => {
        fake = await startFakePusher();
        server = await startServer({ ...fake.env, METRICS_TOKEN });
    });
    afterAll(async () => {
        await server.close();
        await fake.close();
    });

    it("counts what the server sees and leaves connection figures to the broker", async () => {
        expect(
            (await postJson(`${server.url}/rest/pusher/notify`, { ...ORDER, action: "refresh" }, BEARER)).status
        ).toBe(200);
        fake.failOn = new Set([2, 3, 4, 5, 6]);
        const failed = await postJson(`${server.url}/rest/pusher/notify`, { ...ORDER, action: "refresh" }, BEARER);
        expect(failed.status).toBe(502);
        const metrics = await scrape(server.url);
        expect(metrics.value("notifylisten_notifications_total", { route: "single" })).toBe(1);
        expect(metrics.value("notifylisten_notifications_failed_total", { route: "single" })).toBe(1);
        for (const embeddedOnly of [
            "notifylisten_connections",
            "notifylisten_subscriptions",
            "notifylisten_frames_delivered_total",
            "notifylisten_broker_errors_total"
        ]) {
            expect(metrics.family(embeddedOnly), embeddedOnly).toBeUndefined();
        }
    });
});

describe("the text format", () => {
    it("parses, gives every family a TYPE and HELP, and includes the process defaults", async () => {
        const server = await startServer({ METRICS_TOKEN });
        try {
            const metrics = await scrape(server.url);
            expect(metrics.families.length).toBeGreaterThan(40);
            for (const family of metrics.families) {
                expect(family.help, family.name).not.toBe("");
                expect(["counter", "gauge", "histogram"], family.name).toContain(family.type);
            }
            for (const name of ["process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) {
                expect(metrics.value(name), name).toBeGreaterThan(0);
            }
            expect(metrics.family("nodejs_eventloop_lag_p99_seconds")?.type).toBe("gauge");
            // Each name appears once: the per-app registry and the process registry do not overlap.
            const names = metrics.families.map(family => family.name);
            expect(new Set(names).size).toBe(names.length);
            expect(() => parseScrape(`${metrics.text}this line is not a sample\n`)).toThrow();
        } finally {
            await server.close();
        }
    });

    it.skipIf(PROMTOOL === undefined)("passes promtool check metrics (Prometheus' own parser)", async () => {
        const server = await startServer({ METRICS_TOKEN });
        try {
            const { text } = await scrape(server.url);
            const { status, output } = promtool(["metrics"], text);
            // promtool lints too: the only findings allowed are prom-client's own gauges named *_total.
            const findings = output
                .split("\n")
                .filter(line => line.trim() !== "")
                .filter(line => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics/.test(line));
            expect(findings).toEqual([]);
            expect(status === 0 || output.includes("non-counter metrics")).toBe(true);
        } finally {
            await server.close();
        }
    });
});
