/**
 * Child process: the notify request chain built up one layer at a time, from the product's own parts. Route
 * `POST /layers/<n>` runs the first n+1 layers of `LAYERS` (step 0: a minimal Express 5 endpoint), so the cost of a
 * layer is the difference between two neighbouring steps. The server as built (`createApp`, the same
 * configuration) listens on a second port in the same process, for the last row: what its app-level chain adds.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express, { type RequestHandler } from "express";
import { createApiKeyChecker } from "../../server/apikey";
import { createApp } from "../../server/app";
import { createBroker, randomCredentials } from "../../server/broker/index";
import { createCatchup } from "../../server/catchup";
import { loadConfig } from "../../server/config";
import { noSniff } from "../../server/http-hardening";
import { createLogger } from "../../server/logger";
import { readBody } from "../../server/body";
import { cors, limiter, noStore } from "../../server/middleware";
import { createRequestContext } from "../../server/request";
import { NOTIFY_BODY_LIMIT, notificationSchema, prepareNotification } from "../../server/routes/notify";
import { createEmbeddedTrigger } from "../../server/trigger";
import { announce, closeHttpServer, serveParent } from "./ipc";
import { LAYER_NAMES } from "./layer-names";

async function main(): Promise<void> {
    const config = loadConfig(process.env);
    const logger = createLogger(config.logLevel);
    const requests = createRequestContext(logger);
    const apiKey = createApiKeyChecker(config.notifyApiKey);
    const broker = createBroker({ ...randomCredentials(), logger });
    const catchup = createCatchup({ limits: config.catchup, logger });
    const trigger = catchup.wrap(createEmbeddedTrigger(broker));
    const limit = limiter({ perMinute: config.rateLimitNotify, what: "notify" });

    const answer: RequestHandler = (req, res) => {
        const body = req.body as { entity?: string; guid?: string };
        res.json({ triggered: 1, channels: [`private-${body.entity}.${body.guid}`] });
    };
    const parse: RequestHandler = (req, _res, next) => {
        const parsed = notificationSchema.safeParse(req.body);
        if (!parsed.success) {
            throw new Error("invalid notification");
        }
        locals(req).input = parsed.data;
        next();
    };
    const prepare: RequestHandler = (req, _res, next) => {
        locals(req).item = prepareNotification(locals(req).input!);
        next();
    };
    const deliver: RequestHandler = async (req, _res, next) => {
        await trigger.one(locals(req).item!, req);
        next();
    };
    const headers = [noSniff, cors([]), noStore];
    const json = express.json();
    const chains: RequestHandler[][] = [
        [json],
        [requests.middleware, json],
        [requests.middleware, ...headers, json],
        [requests.middleware, ...headers, limit, json],
        [requests.middleware, ...headers, limit, apiKey.require, json],
        [requests.middleware, ...headers, limit, apiKey.require, readBody("json", NOTIFY_BODY_LIMIT)],
        [requests.middleware, ...headers, limit, apiKey.require, readBody("json", NOTIFY_BODY_LIMIT), parse],
        [requests.middleware, ...headers, limit, apiKey.require, readBody("json", NOTIFY_BODY_LIMIT), parse, prepare],
        [
            requests.middleware,
            ...headers,
            limit,
            apiKey.require,
            readBody("json", NOTIFY_BODY_LIMIT),
            parse,
            prepare,
            deliver
        ]
    ];
    const app = express();
    requests.provideLog(app);
    app.disable("x-powered-by");
    app.set("etag", false);
    if (chains.length !== LAYER_NAMES.length) {
        throw new Error("every step of the chain needs its name in layer-names.ts");
    }
    chains.forEach((chain, step) => app.post(`/layers/${step}`, ...chain, answer));
    const server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const built = await createApp(config, { logger });
    const builtUrl = await built.listen(0, "127.0.0.1");
    const { port } = server.address() as AddressInfo;
    serveParent({
        sockets: () => 0,
        close: async () => {
            catchup.close();
            await broker.close();
            await built.close();
            await closeHttpServer(server);
        }
    });
    // The as-built server has its own port: `<url>|<as-built url>`.
    announce(`http://127.0.0.1:${port}|${builtUrl}`);
}

interface Locals {
    input?: ReturnType<typeof notificationSchema.parse>;
    item?: ReturnType<typeof prepareNotification>;
}

function locals(req: express.Request): Locals {
    return req as unknown as Locals;
}

main().catch((error: unknown) => {
    console.error("bench layers child failed:", error);
    process.exit(1);
});
