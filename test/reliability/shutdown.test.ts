/**
 * SIGTERM during load, on the real process (`node --import tsx server/main.ts`, configured by environment
 * variables; the tsx CLI is not used because its signal relay SIGKILLs a child that does not acknowledge the
 * signal within 30 ms, which a loaded server cannot promise):
 * in-flight notify requests complete (or get a clean error before anything was sent), every accepted
 * notification reaches its listener exactly once, WebSockets are closed with 4200 ("server restarting",
 * reconnect-friendly), and the process exits 0 within 10 s. The soak run repeats this under full load.
 */
import type PusherClient from "pusher-js";
import { afterAll, describe, expect, it } from "vitest";
import {
    API_KEY,
    BEARER,
    BROKER,
    createListener,
    processEnv,
    sleep,
    spawnServer,
    until,
    type ServerProcess
} from "./harness";

const LISTENERS = 20;
const WORKERS = 12;
const clients: PusherClient[] = [];
let server: ServerProcess | undefined;

afterAll(() => {
    clients.forEach(client => client.disconnect());
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill("SIGKILL");
    }
});

interface Sent {
    data: string[];
    startedAt: number;
    endedAt?: number;
    status?: number;
    body?: unknown;
    error?: string;
}

describe("SIGTERM under load", () => {
    it("finishes in-flight notifies, delivers every accepted one, closes sockets with 4200, exits 0 within 10 s", async () => {
        server = await spawnServer(processEnv({ RATE_LIMIT_NOTIFY: "1000000", RATE_LIMIT_AUTH: "1000000" }), {
            via: "node"
        });
        const { url, port } = server;
        const received = new Map<string, number>();
        const closeCodes: number[] = [];
        for (let i = 0; i < LISTENERS; i++) {
            const client = createListener({ url, port }, BEARER);
            clients.push(client);
            client.subscribe(`private-Shutdown.Item.${i}`).bind("refresh", (payload: { data: string }) => {
                received.set(payload.data, (received.get(payload.data) ?? 0) + 1);
            });
            client.connection.bind("error", (error: { error?: { data?: { code?: number } } }) => {
                const code = error.error?.data?.code;
                if (code !== undefined) closeCodes.push(code);
            });
        }
        await until(
            () =>
                clients.every(client => client.channel(`private-Shutdown.Item.${clients.indexOf(client)}`)?.subscribed),
            10_000,
            "every listener to subscribe"
        );

        const sent: Sent[] = [];
        let sequence = 0;
        let stopped = false;
        let refusedAfterTerm = 0;
        let terminatedAt = 0;
        const worker = async (w: number) => {
            while (!stopped) {
                const batch = w % 3 === 0;
                const items = Array.from({ length: batch ? 20 : 1 }, () => {
                    const n = sequence++;
                    return { topic: `Shutdown.Item.${n % LISTENERS}`, action: "refresh", data: `n-${n}` };
                });
                const record: Sent = { data: items.map(item => item.data), startedAt: Date.now() };
                sent.push(record);
                try {
                    const res = await fetch(`${url}/rest/pusher/notify${batch ? "/batch" : ""}`, {
                        method: "POST",
                        headers: { ...BEARER, "Content-Type": "application/json" },
                        body: JSON.stringify(batch ? { notifications: items } : items[0])
                    });
                    record.status = res.status;
                    record.body = await res.json();
                    record.endedAt = Date.now();
                } catch (error) {
                    record.error = String((error as Error & { cause?: { code?: string } }).cause?.code ?? error);
                    if (terminatedAt > 0) {
                        refusedAfterTerm++;
                        await sleep(20);
                    }
                }
                if (terminatedAt > 0 && (refusedAfterTerm > 3 * WORKERS || Date.now() - terminatedAt > 12_000)) {
                    stopped = true;
                }
            }
        };
        const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
        await until(() => sent.filter(s => s.status === 200).length > 200, 10_000, "load to build up");

        terminatedAt = Date.now();
        server.child.kill("SIGTERM");
        const exitCode = await Promise.race([server.exited, sleep(10_000).then(() => "timeout" as const)]);
        const exitMs = Date.now() - terminatedAt;
        await load;
        expect(exitCode).toBe(0);
        expect(exitMs).toBeLessThan(10_000);

        // Deliveries of accepted notifications were written before the sockets were closed.
        const accepted = sent.filter(s => s.status === 200).flatMap(s => s.data);
        await until(() => accepted.every(data => received.has(data)), 5_000, "the accepted notifications").catch(
            () => undefined
        );
        const lost = accepted.filter(data => !received.has(data));
        const duplicated = [...received].filter(([, times]) => times > 1).map(([data]) => data);
        const unknown = [...received.keys()].filter(data => !sent.some(s => s.data.includes(data)));
        expect({ lost, duplicated, unknown }).toEqual({ lost: [], duplicated: [], unknown: [] });

        // Every other request failed cleanly: a JSON error, or a connection refused/closed before anything was sent.
        const failed = sent.filter(s => s.status !== 200);
        for (const record of failed) {
            if (record.status !== undefined) {
                expect(record.body).toMatchObject({ error: { code: expect.any(String) } });
                expect(record.status).toBeLessThan(600);
            } else {
                expect(record.error).toMatch(/ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|other side closed|fetch failed/);
            }
            expect(record.data.filter(data => received.has(data))).toEqual([]);
        }

        // Requests in flight when SIGTERM came were completed.
        const inFlight = sent.filter(
            s => s.status === 200 && s.startedAt <= terminatedAt && (s.endedAt ?? 0) >= terminatedAt
        ).length;
        expect(inFlight).toBeGreaterThan(0);
        const errors = [...new Set(failed.map(s => s.error ?? `HTTP ${s.status}`))];

        // Sockets were closed with 4200; the log tells the story without secrets.
        await until(() => closeCodes.filter(code => code === 4200).length >= LISTENERS, 3_000, "4200 on every socket");
        clients.forEach(client => client.disconnect());
        const log = server.lines.join("\n");
        expect(log).toContain("shutting down");
        expect(log).toContain('"msg":"stopped"');
        expect(log).not.toContain(API_KEY);
        expect(log).not.toContain(BROKER.secret);
        console.log(
            `[reliability] SIGTERM under load: ${sent.length} notify requests (${accepted.length} notifications accepted, ` +
                `${inFlight} completed after SIGTERM, ${failed.length} refused cleanly: ${errors.join(", ")}), ` +
                `${LISTENERS} listeners, lost ${lost.length}, ` +
                `duplicated ${duplicated.length}, exit ${exitCode} after ${exitMs} ms`
        );
    });
});
