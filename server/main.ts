/**
 * Entry of `npm start` (`tsx server/main.ts`): config from the environment, app, listen, start log,
 * graceful shutdown on SIGTERM / SIGINT (exit within 10 s).
 */
import { createApp, type AppOptions, type RunningApp } from "./app.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { describeBroker } from "./pusher.js";

/** Module of the playground (fake Mendix runtime + widget page); absent in slim deployments. */
const PLAYGROUND_MODULE = "../playground/playground.js";
const SHUTDOWN_LIMIT_MS = 10_000;

async function loadPlayground(logger: Logger): Promise<AppOptions["extend"]> {
    try {
        const specifier: string = PLAYGROUND_MODULE;
        const module = (await import(specifier)) as {
            mountPlayground?: unknown;
            default?: { mountPlayground?: unknown };
        };
        const mount = module.mountPlayground ?? module.default?.mountPlayground;
        if (typeof mount !== "function") {
            logger.warn("playground module has no mountPlayground export; serving the API only");
            return undefined;
        }
        return mount as AppOptions["extend"];
    } catch (error) {
        logger.warn({ err: error }, "playground not available; serving the API only");
        return undefined;
    }
}

function startLog(logger: Logger, config: Config, url: string, accessCheck: string | undefined): void {
    logger.info({ broker: config.broker.mode }, `broker: ${describeBroker(config.broker)}`);
    logger.info({ url }, `listening on ${url} (${config.host}:${new URL(url).port})`);
    logger.info(
        accessCheck === undefined
            ? "access check: none configured (set MENDIX_APP_URL); browser channel authorization answers 503"
            : `access check: POST ${accessCheck}/rest/notifylisten/v1/access`
    );
    if (config.playground) {
        logger.info(`playground: ${url}/`);
    }
    if (config.notifyApiKeyGenerated && !config.production) {
        // The only place the generated key appears: local use, never in production (it is required there).
        logger.info(`NOTIFY_API_KEY was not set; generated for this run: ${config.notifyApiKey}`);
    }
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
    const logger = createLogger(config.logLevel);
    for (const warning of config.warnings) {
        logger.warn(warning);
    }
    const extend = config.playground ? await loadPlayground(logger) : undefined;
    const selfCheck = config.playground && config.mendixAppUrl === undefined;
    // The playground's fake Mendix runtime answers access checks in this process, over real HTTP.
    const app: RunningApp = await createApp(config, {
        logger,
        extend,
        accessCheckUrl: selfCheck ? () => app.url : undefined
    });
    let url: string;
    try {
        url = await app.listen();
    } catch (error) {
        logger.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}`);
        await app.close();
        process.exit(1);
    }
    startLog(logger, config, url, selfCheck ? url : config.mendixAppUrl);

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
