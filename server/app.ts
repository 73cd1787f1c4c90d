/**
 * The app factory: express app + http.Server + the broker (embedded, or Pusher through the SDK).
 *
 * Middleware order: request context (id, log, in-flight count) -> [METRICS_TOKEN: the metrics' answer observer] ->
 * CORS on /rest/pusher -> the API routes, notify first (the hot path meets no other router on its way), each with
 * its own body parser and limit -> health -> [METRICS_TOKEN: /metrics and /console] -> the embedded broker's HTTP
 * events API (`/apps/...`, for other Pusher SDKs; it parses its own raw body, so no global body parser exists) ->
 * `extend` (the playground) -> 404 -> JSON error handler.
 *
 * Embedded mode: notify publishes in-process through `Broker.publishAll` (see trigger.ts for why not through
 * the pusher SDK); the broker's HTTP events API stays on the public port for other Pusher SDKs.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Logger } from "pino";
import type Pusher from "pusher";
import { createApiKeyChecker } from "./apikey.js";
import { createBroker, randomCredentials, type Broker } from "./broker/index.js";
import { createCatchup, type Catchup } from "./catchup.js";
import { createClusterAdapter, type ClusterAdapter } from "./cluster/index.js";
import type { Config } from "./config.js";
import type { ServerContext } from "./context.js";
import { createErrorHandler, notFoundHandler } from "./errors.js";
import { answerClientErrors, httpServerOptions, noSniff, upgradeClientAddress } from "./http-hardening.js";
import { createLogger } from "./logger.js";
import { createAccessClient } from "./mendix/access.js";
import { createMetrics } from "./metrics.js";
import { cors, noStore, RATE_LIMIT_STORES, type RateLimitStores } from "./middleware.js";
import { createOpenApiDocument } from "./openapi.js";
import {
    DEFAULT_RETRY_POLICY,
    PROBE_TIMEOUT_MS,
    createBrokerProbe,
    createPusher,
    type ProbeResult,
    type RetryPolicy
} from "./pusher.js";
import { createRequestContext } from "./request.js";
import { createAuthRouter } from "./routes/auth.js";
import { createHealthRouter } from "./routes/health.js";
import { createKeyRouter } from "./routes/key.js";
import { createNotifyRouter } from "./routes/notify.js";
import { createObservabilityRouter } from "./routes/observability.js";
import { createEmbeddedTrigger, createSdkTrigger, type Trigger } from "./trigger.js";

export interface ExtendContext {
    config: Config;
    /** The API key in force (NOTIFY_API_KEY or the generated one). */
    notifyApiKey: string;
    logger: Logger;
}

export interface AppOptions {
    logger?: Logger;
    /** Mounts extra routes (the playground) after the API routes and before the 404 handler. */
    extend?: (app: express.Express, ctx: ExtendContext) => void | Promise<void>;
    /**
     * Base URL of the Mendix app for access checks; overrides MENDIX_APP_URL. A function is read at
     * each check (handy when the URL is known only after `listen`). Without it and without
     * MENDIX_APP_URL, the playground (when on) is asked in-process: the server's own base URL.
     */
    accessCheckUrl?: string | (() => string | undefined);
    /** Retries and per-attempt timeout of trigger calls to the broker (default DEFAULT_RETRY_POLICY). */
    brokerRetry?: Partial<RetryPolicy>;
    /** With REDIS_URL: longest wait for Redis at start (default 10 s). */
    redisStartTimeoutMs?: number;
}

export interface RunningApp {
    server: http.Server;
    app: express.Express;
    /** Base URL after `listen` (`http://127.0.0.1:<port>` for wildcard hosts), "" before. */
    readonly url: string;
    broker?: Broker;
    /**
     * The pusher SDK instance: signs channel authorizations; with an external broker notify triggers through
     * it. In embedded mode it points at this server's own broker HTTP API once listening (not used by notify).
     */
    readonly pusher: Pusher;
    /** What notify triggers through: `kind` "sdk" (external broker) or "embedded" (in-process), stamped for catch-up. */
    readonly trigger: Trigger;
    /** The catch-up state (what widgets that subscribe again missed). */
    readonly catchup: Catchup;
    /** What the instances share: the local adapter, or Redis with REDIS_URL (cluster/). */
    readonly cluster: ClusterAdapter;
    /** Listens (defaults: config.port, config.host) and resolves the base URL. */
    listen(port?: number, host?: string): Promise<string>;
    /**
     * Graceful: stop accepting, finish in-flight requests (up to ~7 s), close WebSockets with 4200
     * "server restarting" through broker.close(), then close the remaining connections. Idempotent.
     */
    close(): Promise<void>;
}

/** Longest wait for in-flight requests during close(). */
const DRAIN_TIMEOUT_MS = 7_000;
/** Longest wait for connections to end after the broker closed. */
const FINAL_TIMEOUT_MS = 1_500;

function baseUrl(host: string, port: number): string {
    const shown = host === "" || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    return `http://${shown.includes(":") && !shown.startsWith("[") ? `[${shown}]` : shown}:${port}`;
}

/**
 * Connections waiting to be accepted. After a restart every open page reconnects within seconds; beyond Node's
 * default of 511 the kernel drops their SYNs, which clients send again only after 1, 3, 7, 15 s (the kernel caps
 * this at net.core.somaxconn).
 */
export const LISTEN_BACKLOG = 4096;

function listenOn(server: http.Server, port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once("error", onError);
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
            server.off("error", onError);
            resolve(server.address() as AddressInfo);
        });
    });
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">(resolve => {
        timer = setTimeout(() => resolve("timeout"), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function closeServer(server: http.Server): Promise<void> {
    return new Promise(resolve => {
        if (!server.listening) {
            resolve();
            return;
        }
        server.close(() => resolve());
    });
}

/** Start warning when the open-files limit, not BROKER_MAX_CONNECTIONS, decides how many WebSockets fit. */
function warnAboutCapacity(logger: Logger, broker: Broker): void {
    const { openFilesLimit, socketLimit, maxConnections } = broker.capacity();
    if (openFilesLimit !== undefined && socketLimit !== undefined && openFilesLimit < maxConnections) {
        logger.warn(
            { openFilesLimit, maxConnections, socketLimit },
            `the open-files limit (${openFilesLimit}) is below BROKER_MAX_CONNECTIONS (${maxConnections}): the broker accepts at most ${socketLimit} WebSockets and refuses more with 4100, so HTTP keeps working; raise the limit (ulimit -n, systemd LimitNOFILE, docker --ulimit nofile) to serve more`
        );
    }
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<RunningApp> {
    const logger = options.logger ?? createLogger(config.logLevel);
    const app = express();
    app.disable("x-powered-by");
    // Answers are small, dynamic and mostly to POSTs: an ETag hash per answer costs CPU and saves nothing.
    app.set("etag", false);
    app.set("trust proxy", config.trustProxy);
    // Time limits on headers (WebSocket upgrades included), whole requests and idle keep-alive connections.
    const server = http.createServer(httpServerOptions(config.httpTimeouts), app);
    answerClientErrors(server, config.httpTimeouts);
    const requests = createRequestContext(logger);
    const retryPolicy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.brokerRetry };
    app.use(noSniff);
    requests.provideLog(app);
    app.use(requests.middleware);

    let url = "";
    let closing = false;
    let closed: Promise<void> | undefined;
    let broker: Broker | undefined;
    let pusher: Pusher;
    let trigger: Trigger;
    let brokerReady: () => Promise<ProbeResult>;
    // Prometheus metrics and the operator console: only with METRICS_TOKEN (metrics.ts, routes/observability.ts).
    const metricsToken = config.metrics.token;
    const metrics =
        metricsToken === undefined
            ? undefined
            : createMetrics({ broker: config.broker.mode === "embedded" ? "embedded" : "external" });
    const access = createAccessClient({ limits: config.accessLimits });
    // The one place where the instances' shared state comes in (cluster/): broker, catch-up, rate limits, /readyz.
    const cluster = await createClusterAdapter({
        redis: config.redis,
        logger,
        startTimeoutMs: options.redisStartTimeoutMs
    });
    const rateLimitStores: RateLimitStores = name => cluster.rateLimitStore(name);
    app.locals[RATE_LIMIT_STORES] = rateLimitStores;
    if (metrics !== undefined && cluster.kind === "redis") {
        metrics.redisAdapter(cluster.health().ok);
        cluster.onHealth(up => metrics.redisAdapter(up));
    }
    const catchup = createCatchup({
        limits: config.catchup,
        logger,
        onRun: metrics?.catchupRun,
        store: await cluster.createCatchupStore(config.catchup)
    });

    if (config.broker.mode === "embedded") {
        const credentials = config.broker.credentials ?? randomCredentials();
        const limits = config.brokerLimits;
        const embedded = createBroker({
            ...credentials,
            logger,
            clientEvents: limits.clientEvents,
            publicChannels: limits.publicChannels,
            maxSubscriptions: limits.maxSubscriptions,
            maxConnections: limits.maxConnections,
            maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
            clientAddress: upgradeClientAddress(app),
            observer: metrics?.broker,
            cluster
        });
        warnAboutCapacity(logger, embedded);
        broker = embedded;
        embedded.attach(server);
        pusher = createPusher(config.broker, credentials, retryPolicy.timeoutMs);
        trigger = createEmbeddedTrigger(embedded);
        brokerReady = async () =>
            server.listening && !closing
                ? { ok: true }
                : { ok: false, reason: closing ? "the embedded broker is closed" : "not listening yet" };
    } else {
        pusher = createPusher(config.broker, undefined, retryPolicy.timeoutMs);
        trigger = createSdkTrigger(pusher, retryPolicy);
        brokerReady = createBrokerProbe(createPusher(config.broker, undefined, PROBE_TIMEOUT_MS));
    }
    // Every notification gets its catch-up position and is kept for widgets that resubscribe (catchup.ts).
    trigger = catchup.wrap(trigger);
    if (metrics !== undefined) {
        trigger = metrics.wrapTrigger(trigger);
        metrics.attach({ broker, access, catchup });
    }

    const ctx: ServerContext = {
        config,
        logger,
        apiKey: createApiKeyChecker(config.notifyApiKey),
        brokerKey: broker?.key ?? (config.broker.mode === "embedded" ? "" : config.broker.key),
        pusher: () => pusher,
        trigger,
        catchup,
        access: metrics?.wrapAccess(access) ?? access,
        accessCheckBaseUrl: () => {
            const override = options.accessCheckUrl;
            if (typeof override === "function") {
                return override() || undefined;
            }
            if (override !== undefined) {
                return override;
            }
            if (config.mendixAppUrl !== undefined) {
                return config.mendixAppUrl;
            }
            return config.playground && url !== "" ? url : undefined;
        },
        brokerReady: () => brokerReady(),
        cluster,
        isClosing: () => closing
    };

    if (metrics !== undefined) {
        app.use(metrics.observeApi);
    }
    app.use("/rest/pusher", cors(config.corsOrigins), noStore);
    app.use(createNotifyRouter(ctx));
    app.use(createAuthRouter(ctx));
    app.use(createKeyRouter(ctx));
    app.use(["/healthz", "/readyz"], noStore);
    app.use(createHealthRouter(ctx));
    if (metrics !== undefined && metricsToken !== undefined) {
        app.use(createObservabilityRouter({ metrics, token: metricsToken, console: config.metrics.console }));
    }
    if (broker !== undefined) {
        app.use(broker.router);
    }
    const openApi = createOpenApiDocument();
    app.get("/openapi.json", (_req, res) => {
        res.json(openApi);
    });
    if (options.extend) {
        await options.extend(app, { config, notifyApiKey: config.notifyApiKey, logger });
    }
    app.use(notFoundHandler);
    app.use(createErrorHandler(logger));

    const close = (): Promise<void> => {
        closed ??= (async () => {
            closing = true;
            requests.startClosing();
            const stopped = closeServer(server);
            // Keep-alive connections that finish their request are closed right away.
            const sweeper = setInterval(() => server.closeIdleConnections(), 50);
            try {
                if ((await within(requests.inFlight.idle(), DRAIN_TIMEOUT_MS)) === "timeout") {
                    logger.warn({ inFlight: requests.inFlight.count }, "shutdown: requests still in flight");
                }
                if (broker) {
                    await within(
                        broker.close({ code: 4200, reason: "server restarting" }).catch((error: unknown) => {
                            logger.warn({ err: error }, "shutdown: broker close failed");
                        }),
                        FINAL_TIMEOUT_MS
                    );
                }
                server.closeIdleConnections();
                if ((await within(stopped, FINAL_TIMEOUT_MS)) === "timeout") {
                    server.closeAllConnections();
                    await stopped;
                }
                // After the broker: its sockets' members have left the cluster by now.
                await within(cluster.close(), FINAL_TIMEOUT_MS);
            } finally {
                clearInterval(sweeper);
                access.close();
                catchup.close();
                metrics?.close();
            }
        })();
        return closed;
    };

    return {
        server,
        app,
        get url() {
            return url;
        },
        broker,
        get pusher() {
            return pusher;
        },
        trigger,
        catchup,
        cluster,
        async listen(port = config.port, host = config.host) {
            const address = await listenOn(server, port, host);
            url = baseUrl(host, address.port);
            if (config.broker.mode === "embedded" && broker !== undefined) {
                pusher = createPusher(
                    config.broker,
                    { appId: broker.appId, key: broker.key, secret: broker.secret, url },
                    retryPolicy.timeoutMs
                );
            }
            return url;
        },
        close
    };
}
