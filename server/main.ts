/**
 * Entry of the server: `npm start` (development, `node --import tsx server/main.ts`) and `npm run start:prod`
 * (production, `node dist/server/main.js`). Config from the environment, app, listen, start banner or log,
 * graceful shutdown on SIGTERM / SIGINT (exit within 10 s).
 */
import { createApp, type AppOptions, type RunningApp } from "./app.js";
import { isClusterStartError } from "./cluster/index.js";
import { ConfigError, loadConfig, type Config, type LogFormat } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { textDestination } from "./log-format.js";
import { describeBroker } from "./pusher.js";
import { accessCheckText, banner, listenFailure } from "./startup.js";

const SHUTDOWN_LIMIT_MS = 10_000;

/**
 * The playground (playground/, local demo mode only). It bundles its browser code with esbuild and React, which
 * are development dependencies: after `npm ci --omit=dev` it is unavailable and the server serves the API only.
 */
async function loadPlayground(logger: Logger): Promise<AppOptions["extend"]> {
    try {
        await import("esbuild");
    } catch {
        logger.warn(
            "the playground needs the development dependencies (npm install without --omit=dev); serving the API only"
        );
        return undefined;
    }
    const { mountPlayground } = await import("../playground/playground.js");
    return mountPlayground;
}

/** The same facts as log entries, for JSON logs (not a terminal, or LOG_FORMAT=json). */
function startLog(logger: Logger, config: Config, url: string, accessCheck: string): void {
    logger.info({ broker: config.broker.mode }, `broker: ${describeBroker(config.broker)}`);
    logger.info({ url }, `listening on ${url} (${config.host}:${new URL(url).port})`);
    logger.info(`access check: ${accessCheck}`);
    if (config.playground) {
        logger.info(`playground: ${url}/`);
    }
    if (config.notifyApiKeyGenerated && !config.production) {
        // Local use only, never in production (the key is required there).
        logger.info(`NOTIFY_API_KEY was not set; generated for this run: ${config.notifyApiKey}`);
    }
}

function resolveLogFormat(configured: LogFormat | undefined): LogFormat {
    return configured ?? (process.stdout.isTTY ? "text" : "json");
}

async function main(): Promise<void> {
    let config: Config;
    try {
        config = loadConfig(process.env);
    } catch (error) {
        if (error instanceof ConfigError) {
            console.error(error.message);
            process.exit(1);
        }
        throw error;
    }
    const format = resolveLogFormat(config.logFormat);
    const logger = createLogger(config.logLevel, format === "text" ? textDestination() : undefined);
    for (const warning of config.warnings) {
        logger.warn(warning);
    }
    const extend = config.playground ? await loadPlayground(logger) : undefined;
    const selfCheck = extend !== undefined && config.mendixAppUrl === undefined;
    // The playground's fake Mendix runtime answers access checks in this process, over real HTTP.
    let app: RunningApp;
    try {
        app = await createApp(config, {
            logger,
            extend,
            accessCheckUrl: selfCheck ? () => app.url : undefined
        });
    } catch (error) {
        if (isClusterStartError(error)) {
            // REDIS_URL set and Redis unreachable: a clear line (password masked), not a stack.
            logger.fatal(error.message);
            console.error(error.message);
            process.exit(1);
        }
        throw error;
    }
    let url: string;
    try {
        url = await app.listen();
    } catch (error) {
        const message = listenFailure(error, config);
        if (message === undefined) {
            logger.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}`);
        } else {
            console.error(message);
        }
        await app.close();
        process.exit(1);
    }
    const accessCheck = accessCheckText(selfCheck ? url : config.mendixAppUrl, selfCheck);
    if (format === "text") {
        process.stdout.write(banner(config, url, accessCheck));
    } else {
        startLog(logger, config, url, accessCheck);
    }

    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
            logger.warn({ signal }, "second signal: exiting now");
            process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, "shutting down");
        const force = setTimeout(() => {
            logger.error("shutdown took too long; exiting");
            process.exit(1);
        }, SHUTDOWN_LIMIT_MS);
        force.unref();
        app.close().then(
            () => {
                logger.info("stopped");
                process.exit(0);
            },
            (error: unknown) => {
                logger.error({ err: error }, "shutdown failed");
                process.exit(1);
            }
        );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
