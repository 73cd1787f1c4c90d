/**
 * Bounded cardinality: notifying 1,000 different topics (and listening to some of them) adds no series to
 * /metrics and puts no topic, channel or action into any label; the console keeps only the last 100.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BEARER, answer, connectListener, postJson, startServer, type Listener, type TestServer } from "../api/helpers";
import { METRICS_BEARER, METRICS_TOKEN, scrape } from "./helpers";

const TOPICS = 1_000;
const topic = (index: number) => `Sales.Order.number.${100_000 + index}`;

describe("cardinality with 1,000 different topics", () => {
    let server: TestServer;
    let listener: Listener;
    beforeAll(async () => {
        server = await startServer({ METRICS_TOKEN, RATE_LIMIT_NOTIFY: "100000" });
        listener = await connectListener(server.url);
        for (let index = 0; index < 20; index++) {
            await listener.subscribe(`private-${topic(index)}`);
        }
    });
    afterAll(async () => {
        listener.disconnect();
        await server.close();
    });

    it("adds no series and no label value from a topic, channel or action", async () => {
        // One of each kind of notification first, so every series that can appear has appeared.
        expect(
            (await postJson(`${server.url}/rest/pusher/notify`, { topic: topic(0), action: "warm-up" }, BEARER)).status
        ).toBe(200);
        expect(
            (
                await postJson(
                    `${server.url}/rest/pusher/notify/batch`,
                    { notifications: [{ topic: topic(1), action: "warm-up" }] },
                    BEARER
                )
            ).status
        ).toBe(200);
        const before = await scrape(server.url);

        for (let start = 0; start < TOPICS; start += 100) {
            const notifications = Array.from({ length: 100 }, (_unused, offset) => ({
                topic: topic(start + offset),
                action: `action-${start + offset}`,
                data: `payload ${start + offset}`
            }));
            const { status, body } = await answer(
                postJson(`${server.url}/rest/pusher/notify/batch`, { notifications }, BEARER)
            );
            expect(status, JSON.stringify(body)).toBe(200);
        }
        for (let index = 0; index < 50; index++) {
            expect(
                (
                    await postJson(
                        `${server.url}/rest/pusher/notify`,
                        { topic: topic(index), action: `single-${index}` },
                        BEARER
                    )
                ).status
            ).toBe(200);
        }

        const after = await scrape(server.url);
        expect(after.value("notifylisten_notifications_total", { route: "batch" })).toBe(TOPICS + 1);
        expect(after.value("notifylisten_broker_events_total")).toBe(TOPICS + 52);
        // The server's own series; Node's default metrics add a histogram's series by themselves when the process
        // runs its first garbage collection of a new kind (`nodejs_gc_duration_seconds{kind="major"}`).
        const ownSeries = (scraped: typeof after) =>
            scraped.families
                .filter(family => family.name.startsWith("notifylisten_"))
                .reduce((sum, family) => sum + family.samples.length, 0);
        expect(ownSeries(after)).toBe(ownSeries(before));
        expect(after.families.map(family => family.name)).toEqual(before.families.map(family => family.name));

        const labelValues = after.families.flatMap(family =>
            family.samples.flatMap(sample => Object.values(sample.labels))
        );
        const leaked = labelValues.filter(value => /Sales|Order|private-|action-|single-|payload|warm-up/.test(value));
        expect(leaked).toEqual([]);
        // Every label value of the server's own metrics is short and from a fixed list.
        const own = after.families
            .filter(family => family.name.startsWith("notifylisten_"))
            .flatMap(family => family.samples.flatMap(sample => Object.values(sample.labels)));
        expect(new Set(own).size).toBeLessThan(80);
    });

    it("keeps only the last 100 notifications for the console, newest first", async () => {
        const { status, body } = await answer(fetch(`${server.url}/console/data.json`, { headers: METRICS_BEARER }));
        expect(status).toBe(200);
        expect(body.recent).toHaveLength(100);
        expect(body.recent[0]).toMatchObject({ channel: `private-${topic(49)}`, action: "single-49", receivers: 0 });
        // The busiest channels are the 20 this listener joined, one subscriber each, at most 10 listed.
        expect(body.busiestChannels).toHaveLength(10);
        expect(body.busiestChannels.every((entry: { subscribers: number }) => entry.subscribers === 1)).toBe(true);
    });
});
