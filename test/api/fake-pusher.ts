/**
 * A fake Pusher HTTP API on 127.0.0.1 (ephemeral port) that records what the pusher SDK sends, for
 * the Pusher-compatible-host mode (`PUSHER_HOST`). `failOn` makes chosen calls answer 500.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";

export interface RecordedCall {
    method: string;
    /** Path without query, e.g. `/apps/123/batch_events`. */
    path: string;
    query: Record<string, string>;
    body: unknown;
}

export interface FakePusher {
    port: number;
    /** Environment that points the server at this fake (Pusher-compatible host mode, app 777, key `hostkey`). */
    readonly env: Record<string, string>;
    readonly calls: RecordedCall[];
    /** 1-based numbers of POST calls that answer 500. */
    failOn: Set<number>;
    /** When true, GET /channels answers 503. */
    down: boolean;
    /** Forgets recorded calls, the POST count and failures. */
    reset(): void;
    close(): Promise<void>;
}

export async function startFakePusher(): Promise<FakePusher> {
    const calls: RecordedCall[] = [];
    const state = { failOn: new Set<number>(), down: false };
    let posts = 0;
    const app = express();
    app.use(express.json({ limit: "2mb" }));
    app.all("/{*rest}", (req, res) => {
        calls.push({
            method: req.method,
            path: req.path,
            query: Object.fromEntries(new URL(req.originalUrl, "http://x").searchParams),
            body: req.body
        });
        if (req.method === "GET") {
            if (state.down) {
                res.status(503).send("unavailable");
            } else {
                res.json({ channels: {} });
            }
            return;
        }
        posts++;
        if (state.failOn.has(posts)) {
            res.status(500).send("internal error");
            return;
        }
        res.json({});
    });
    const server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        port,
        env: {
            PUSHER_APP_ID: "777",
            PUSHER_KEY: "hostkey",
            PUSHER_SECRET: "hostsecret",
            PUSHER_HOST: "127.0.0.1",
            PUSHER_PORT: String(port),
            PUSHER_USE_TLS: "false"
        },
        calls,
        get failOn() {
            return state.failOn;
        },
        set failOn(value: Set<number>) {
            state.failOn = value;
        },
        get down() {
            return state.down;
        },
        set down(value: boolean) {
            state.down = value;
        },
        reset() {
            calls.length = 0;
            posts = 0;
            state.failOn = new Set();
            state.down = false;
        },
        close: () =>
            new Promise<void>(resolve => {
                server.close(() => resolve());
                server.closeAllConnections();
            })
    };
}
