/**
 * Regression tests for what the fuzzing found (each was a 5xx for a request that deserves a clear 400):
 *  1. notify with entity + guid whose `Module.Entity.guid` topic is longer than 156 characters: the channel
 *     name exceeds Pusher's 164 and the broker refused it -> 502 broker_error instead of 400 invalid_request;
 *  2. topics starting with `encrypted-` make `private-encrypted-` channels (Pusher end-to-end encryption), which
 *     the pusher SDK cannot sign or trigger without an encryption master key: /rest/pusher/auth answered
 *     500 internal_error, notify 502 broker_error.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    BEARER,
    GOOD_COOKIE,
    GOOD_CSRF,
    expectJsonError,
    postForm,
    postJson,
    startApp,
    startFakeMendix,
    type AppUnderTest,
    type FakeMendix
} from "./harness";

let app: AppUnderTest;
let mendix: FakeMendix;

beforeAll(async () => {
    mendix = await startFakeMendix();
    app = await startApp({ MENDIX_APP_URL: mendix.url });
});
afterAll(async () => {
    await app.close();
    await mendix.close();
});

describe("findings of the fuzzing", () => {
    it("entity + guid making a topic longer than 156 characters -> 400 invalid_request (not 502)", async () => {
        const entity = `Module.${"E".repeat(140)}`;
        for (const path of ["/rest/pusher/notify", "/rest/pusher/notify/batch"]) {
            const notification = { entity, guid: "12345678901234567890", action: "refresh" };
            const body = path.endsWith("batch") ? { notifications: [notification] } : notification;
            const answer = await postJson(app.evidence, `${app.url}${path}`, body, BEARER);
            expect(answer.status, answer.text).toBe(400);
            expect(expectJsonError(answer, path)).toBe("invalid_request");
        }
        // The longest entity that still fits is accepted.
        const fits = { entity: `M.${"E".repeat(156 - 2 - 1 - 20)}`, guid: "12345678901234567890", action: "refresh" };
        const ok = await postJson(app.evidence, `${app.url}/rest/pusher/notify`, fits, BEARER);
        expect(ok.status, ok.text).toBe(200);
    });

    it("private-encrypted- channels -> 400 invalid_request on auth and notify (not 500/502)", async () => {
        for (const headers of [BEARER, { Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF }]) {
            const answer = await postForm(
                app.evidence,
                `${app.url}/rest/pusher/auth`,
                { socket_id: "1.2", channel_name: "private-encrypted-Sales.Order.1" },
                headers
            );
            expect(answer.status, answer.text).toBe(400);
            expect(expectJsonError(answer, "auth")).toBe("invalid_request");
        }
        const notify = await postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify`,
            { topic: "encrypted-Sales.Order.1", action: "refresh" },
            BEARER
        );
        expect(notify.status, notify.text).toBe(400);
        expect(expectJsonError(notify, "notify")).toBe("invalid_request");
        const batch = await postJson(
            app.evidence,
            `${app.url}/rest/pusher/notify/batch`,
            {
                notifications: [
                    { topic: "Sales.Order.1", action: "a" },
                    { topic: "encrypted-x", action: "a" }
                ]
            },
            BEARER
        );
        expect(batch.status, batch.text).toBe(400);
        // The batch is validated as a whole: nothing was sent.
        expect(expectJsonError(batch, "batch")).toBe("invalid_request");
    });
});
