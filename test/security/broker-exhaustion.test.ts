/**
 * Finding 2: one client could exhaust the broker with only the public key. One address held 5,000 sockets;
 * under a 1,024 open-files limit 997 sockets used every descriptor and `GET /rest/pusher/key` failed for
 * everyone; public channels needed no signature and were allowed 1,000 per socket (1,000 sockets held
 * 1,000,000 subscriptions, +429 MB).
 *
 * Now: at most BROKER_MAX_CONNECTIONS_PER_ADDRESS sockets per client address (default 1,000), public channels
 * refused unless BROKER_PUBLIC_CHANNELS, at most BROKER_MAX_SUBSCRIPTIONS channels per socket (default 100),
 * and below the open-files limit the broker refuses sockets with 4100 while HTTP still has descriptors.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { BROKER, processEnv, request, startApp, type AppUnderTest } from "../reliability/harness";
import {
    openPusherSocket,
    openPusherSockets,
    pusherUrl,
    startUnderOpenFilesLimit,
    subscribeSigned,
    tally,
    terminateAll,
    type LimitedProcess,
    type SocketOutcome
} from "./helpers";

let app: AppUnderTest | undefined;
let child: LimitedProcess | undefined;
const held: SocketOutcome[] = [];

afterEach(async () => {
    terminateAll(held.splice(0));
    await app?.close();
    app = undefined;
    await child?.stop();
    child = undefined;
});

function refusals(outcomes: readonly SocketOutcome[]) {
    return outcomes.flatMap(outcome => (outcome.kind === "refused" ? [outcome] : []));
}

describe("finding 2: connections per client address", () => {
    it("one address holds at most 1,000 sockets by default; the rest get 4100 and HTTP keeps working", async () => {
        app = await startApp();
        const outcomes = await openPusherSockets(pusherUrl(app.port), 1_010);
        held.push(...outcomes);
        const counts = tally(outcomes);
        console.log(`[security] 1,010 sockets from one address: ${JSON.stringify(counts)}`);
        expect(counts).toEqual({ established: 1_000, refused: 10, failed: 0 });
        for (const refused of refusals(outcomes)) {
            expect(refused.code).toBe(4100);
            expect(refused.closeCode).toBe(4100);
            expect(refused.message).toMatch(/Too many connections from this address/);
        }
        expect(app.running.broker!.stats()).toMatchObject({
            connections: 1_000,
            refused: { perAddress: 10, connections: 0, descriptors: 0 }
        });
        const key = await request(app.evidence, `${app.url}/rest/pusher/key`);
        expect(key.status).toBe(200);
        expect(app.running.broker!.capacity().maxConnectionsPerAddress).toBe(1_000);

        // Room again once sockets of that address close.
        const established = outcomes.filter(outcome => outcome.kind === "established").slice(0, 5);
        terminateAll(established);
        await expect.poll(() => app!.running.broker!.stats().connections, { timeout: 5_000 }).toBe(995);
        const again = await openPusherSocket(pusherUrl(app.port));
        held.push(again);
        expect(again.kind).toBe("established");
    });

    it("counts the client behind a trusted proxy (X-Forwarded-For), and only a trusted proxy's header", async () => {
        app = await startApp({ BROKER_MAX_CONNECTIONS_PER_ADDRESS: "3" });
        const url = pusherUrl(app.port);
        // 127.0.0.1 is a trusted proxy by default (TRUST_PROXY=loopback): two clients behind it, 3 each.
        const first = await Promise.all(
            [1, 1, 1, 2, 2, 2].map(n => openPusherSocket(url, { "X-Forwarded-For": `203.0.113.${n}` }))
        );
        held.push(...first);
        expect(tally(first).established).toBe(6);
        const fourth = await openPusherSocket(url, { "X-Forwarded-For": "203.0.113.1" });
        held.push(fourth);
        expect(fourth).toMatchObject({ kind: "refused", code: 4100 });
        await app.close();
        terminateAll(held.splice(0));

        // Not trusted: the header counts for nothing, the TCP peer is the client.
        app = await startApp({ BROKER_MAX_CONNECTIONS_PER_ADDRESS: "3", TRUST_PROXY: "false" });
        const spoofed = await Promise.all(
            [1, 2, 3, 4].map(n => openPusherSocket(pusherUrl(app!.port), { "X-Forwarded-For": `198.51.100.${n}` }))
        );
        held.push(...spoofed);
        expect(tally(spoofed)).toEqual({ established: 3, refused: 1, failed: 0 });
    });
});

describe("finding 2: subscriptions", () => {
    it("public channels are refused by default (403), so the public key alone holds no subscription", async () => {
        app = await startApp();
        const outcome = await openPusherSocket(pusherUrl(app.port));
        held.push(outcome);
        if (outcome.kind !== "established") throw new Error(JSON.stringify(outcome));
        for (let i = 0; i < 1_000; i++) {
            outcome.socket.send({ event: "pusher:subscribe", data: { channel: `public-${i}` } });
        }
        const last = await outcome.socket.next(frame => frame.channel === "public-999");
        expect(last).toMatchObject({
            event: "pusher:subscription_error",
            data: { status: 403, error: expect.stringMatching(/Public channels are not allowed/) }
        });
        expect(outcome.socket.frames.filter(f => f.event === "pusher_internal:subscription_succeeded")).toEqual([]);
        expect(app.running.broker!.stats().subscriptions).toBe(0);
        expect(outcome.socket.ws.readyState).toBe(WebSocket.OPEN);
    });

    it("BROKER_PUBLIC_CHANNELS=true opts in", async () => {
        app = await startApp({ BROKER_PUBLIC_CHANNELS: "true" });
        const outcome = await openPusherSocket(pusherUrl(app.port));
        held.push(outcome);
        if (outcome.kind !== "established") throw new Error(JSON.stringify(outcome));
        outcome.socket.send({ event: "pusher:subscribe", data: { channel: "news" } });
        const answer = await outcome.socket.next(frame => frame.channel === "news");
        expect(answer.event).toBe("pusher_internal:subscription_succeeded");
    });

    it("one socket joins at most 100 channels by default (then 429 LimitReached)", async () => {
        app = await startApp();
        const outcome = await openPusherSocket(pusherUrl(app.port));
        held.push(outcome);
        if (outcome.kind !== "established") throw new Error(JSON.stringify(outcome));
        const answers = [];
        for (let i = 0; i < 101; i++) {
            answers.push(await subscribeSigned(outcome.socket, outcome.socketId, `private-Sales.Order.${i}`));
        }
        expect(answers.slice(0, 100).every(f => f.event === "pusher_internal:subscription_succeeded")).toBe(true);
        expect(answers[100]).toMatchObject({
            event: "pusher:subscription_error",
            data: { type: "LimitReached", status: 429, error: expect.stringMatching(/at most 100 channels/) }
        });
        expect(app.running.broker!.stats().subscriptions).toBe(100);
    });
});

describe("finding 2: open-files limit", () => {
    it("under ulimit -n 300 the broker refuses sockets with 4100 before descriptors run out; HTTP keeps working", async () => {
        child = await startUnderOpenFilesLimit(
            300,
            processEnv({ BROKER_MAX_CONNECTIONS_PER_ADDRESS: "100000", LOG_LEVEL: "info" })
        );
        // 300 - max(128, 10 %) = 172 sockets fit; ask for far more than the process has descriptors.
        const outcomes = await openPusherSockets(pusherUrl(child.port, BROKER.key), 400, 25);
        held.push(...outcomes);
        const counts = tally(outcomes);
        console.log(`[security] 400 sockets under ulimit -n 300: ${JSON.stringify(counts)}`);
        expect(counts.failed).toBe(0);
        expect(counts.established).toBe(172);
        expect(refusals(outcomes).every(r => r.code === 4100 && r.closeCode === 4100)).toBe(true);
        // While every accepted socket is held, HTTP still answers everyone.
        for (const path of ["/rest/pusher/key", "/healthz", "/readyz"]) {
            const response = await fetch(`${child.url}${path}`, { signal: AbortSignal.timeout(5_000) });
            expect(response.status, path).toBe(200);
        }
        const warning = child.lines.find(line => line.includes("open-files limit"));
        expect(warning, child.lines.join("\n")).toMatch(/open-files limit \(300\) is below BROKER_MAX_CONNECTIONS/);
    });
});
