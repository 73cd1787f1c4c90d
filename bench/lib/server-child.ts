/**
 * Child process: the real companion server (`createApp` with config from the environment), listening
 * on 127.0.0.1 with an ephemeral port. Started by `startServerProcess`; logs go to its stdout, which
 * the launcher discards.
 *
 * `BENCH_VARIANT=in-process-publish` is a what-if experiment, not the product: it replaces the
 * server's pusher SDK `trigger`/`triggerBatch` with direct `broker.publish()` calls (same channels,
 * event, data and excluded socket), i.e. the embedded mode without the loopback HTTP hop. The bench
 * measures it next to the real server to size a proposed change.
 */
import type Pusher from "pusher";
import { createApp } from "../../server/app";
import type { Broker } from "../../server/broker";
import { loadConfig } from "../../server/config";
import { createLogger } from "../../server/logger";
import { announce, serveParent } from "./ipc";

/** What `pusher.trigger` resolves with, as far as the notify routes read it. */
const EMPTY_ANSWER = { status: 200, text: async () => "{}", json: async () => ({}) };

function publishInProcess(pusher: Pusher, broker: Broker): void {
    const direct = pusher as unknown as {
        trigger: (
            channels: string | string[],
            event: string,
            data: unknown,
            params?: { socket_id?: string }
        ) => unknown;
        triggerBatch: (batch: Pusher.BatchEvent[]) => unknown;
    };
    const json = (data: unknown): string => (typeof data === "string" ? data : JSON.stringify(data));
    direct.trigger = async (channels, event, data, params) => {
        broker.publish(Array.isArray(channels) ? channels : [channels], event, json(data), params?.socket_id);
        return EMPTY_ANSWER;
    };
    direct.triggerBatch = async batch => {
        for (const item of batch) {
            broker.publish([item.channel], item.name, json(item.data), item.socket_id);
        }
        return EMPTY_ANSWER;
    };
}

async function main(): Promise<void> {
    const config = loadConfig(process.env);
    const logger = createLogger(config.logLevel);
    const app = await createApp(config, { logger });
    if (process.env.BENCH_VARIANT === "in-process-publish") {
        if (app.broker === undefined) {
            throw new Error("BENCH_VARIANT=in-process-publish needs the embedded broker");
        }
        publishInProcess(app.pusher, app.broker);
    }
    const url = await app.listen(0, "127.0.0.1");
    serveParent({
        sockets: () => app.broker?.stats().connections ?? 0,
        close: () => app.close()
    });
    announce(url);
}

main().catch((error: unknown) => {
    console.error("bench server child failed:", error);
    process.exit(1);
});
