/**
 * Child process: the real companion server (`createApp` with config from the environment), listening
 * on 127.0.0.1 with an ephemeral port (or `BENCH_PORT`). Started by `startServerProcess`; logs go to its stdout, which
 * the launcher discards.
 *
 * `BENCH_VARIANT=sdk-loopback` is a diagnostic, not the product: it puts back the embedded mode's
 * previous notify path, the pusher SDK triggering over loopback HTTP through a private listener that
 * serves only the broker's HTTP events API (as server/app.ts did before notify published in-process,
 * see server/trigger.ts). The bench measures it next to the real server to show what the in-process
 * trigger is worth in the same run.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { createApp, type RunningApp } from "../../server/app";
import { loadConfig } from "../../server/config";
import { notFoundHandler } from "../../server/errors";
import { createLogger } from "../../server/logger";
import { DEFAULT_RETRY_POLICY, createPusher } from "../../server/pusher";
import { createSdkTrigger } from "../../server/trigger";
import { announce, serveParent } from "./ipc";

/** Replaces the app's in-process trigger with the SDK over a private loopback listener; returns that listener. */
async function triggerOverLoopback(app: RunningApp): Promise<http.Server> {
    const broker = app.broker;
    if (broker === undefined) {
        throw new Error("BENCH_VARIANT=sdk-loopback needs the embedded broker");
    }
    const loopback = express();
    loopback.disable("x-powered-by");
    loopback.use(broker.router);
    loopback.use(notFoundHandler);
    const internal = http.createServer(loopback);
    await new Promise<void>(resolve => internal.listen(0, "127.0.0.1", resolve));
    const { port } = internal.address() as AddressInfo;
    const pusher = createPusher(
        { mode: "embedded" },
        { appId: broker.appId, key: broker.key, secret: broker.secret, url: `http://127.0.0.1:${port}` },
        DEFAULT_RETRY_POLICY.timeoutMs
    );
    const sdk = createSdkTrigger(pusher, DEFAULT_RETRY_POLICY);
    // The notify routes call ctx.trigger.one / .batch at each request: swap the methods of that object.
    Object.assign(app.trigger, { one: sdk.one, batch: sdk.batch });
    return internal;
}

async function main(): Promise<void> {
    const config = loadConfig(process.env);
    const logger = createLogger(config.logLevel);
    const app = await createApp(config, { logger });
    const internal = process.env.BENCH_VARIANT === "sdk-loopback" ? await triggerOverLoopback(app) : undefined;
    // BENCH_PORT: a restarted server takes over its predecessor's port (the reconnect storm).
    const url = await app.listen(Number(process.env.BENCH_PORT ?? 0), "127.0.0.1");
    serveParent({
        sockets: () => app.broker?.stats().connections ?? 0,
        close: async () => {
            await app.close();
            internal?.closeAllConnections();
            await new Promise<void>(resolve => (internal ? internal.close(() => resolve()) : resolve()));
        }
    });
    announce(url);
}

main().catch((error: unknown) => {
    console.error("bench server child failed:", error);
    process.exit(1);
});
