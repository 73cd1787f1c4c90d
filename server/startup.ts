/**
 * What the server tells a person at start: the banner of `npm start` in a terminal and the one-line answer to a
 * port that cannot be used. Kept apart from server/main.ts (which starts the server when imported) for tests.
 */
import type { Config } from "./config.js";
import { describeBroker } from "./pusher.js";

/** The object and action of the curl line in the banner: the playground's first demo object. */
const EXAMPLE_NOTIFICATION = { entity: "Sales.Order", guid: "281474976710657", action: "refresh" };

/** How to start this script again on another port, for the "port in use" message. */
function startCommand(): string {
    const script = process.env.npm_lifecycle_event;
    return script === undefined ? "node dist/server/main.js" : script === "start" ? "npm start" : `npm run ${script}`;
}

/** One line for a listen error a person can fix (port in use, not allowed, wrong HOST), else undefined. */
export function listenFailure(error: unknown, config: Config): string | undefined {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const where = `${config.host}:${config.port}`;
    if (code === "EADDRINUSE") {
        return `Port ${config.port} is already in use (${where}). Choose another port: PORT=8095 ${startCommand()}`;
    }
    if (code === "EACCES") {
        return `Not allowed to listen on port ${config.port} (${where}). Choose a port above 1023: PORT=8095 ${startCommand()}`;
    }
    if (code === "EADDRNOTAVAIL") {
        return `HOST=${config.host} is not an address of this machine. Use HOST=0.0.0.0 or HOST=127.0.0.1.`;
    }
    return undefined;
}

/** Where browser channel authorization is checked, in words. */
export function accessCheckText(accessCheck: string | undefined, selfCheck: boolean): string {
    if (selfCheck) {
        return "the playground's fake Mendix app (in this process)";
    }
    return accessCheck === undefined
        ? "none (set MENDIX_APP_URL); browser channel authorization answers 503"
        : `POST ${accessCheck}/rest/notifylisten/v1/access`;
}

/** The plain-text banner `npm start` prints when stdout is a terminal. */
export function banner(config: Config, url: string, accessCheck: string): string {
    const lines = [`Notify & Listen server on ${url}`];
    if (config.playground) {
        lines.push(`  Playground    ${url}/  (a fake Mendix app with the built Listen widget)`);
    }
    lines.push(`  Broker        ${describeBroker(config.broker)}`);
    lines.push(`  Access check  ${accessCheck}`);
    if (config.metrics.token !== undefined) {
        // Never the token itself: it comes from METRICS_TOKEN, which the person starting the server knows.
        lines.push(`  Metrics       ${url}/metrics  (Authorization: Bearer $METRICS_TOKEN)`);
        if (config.metrics.console) {
            lines.push(`  Console       ${url}/console  (any user name, METRICS_TOKEN as password)`);
        }
    }
    const showKey = config.notifyApiKeyGenerated && !config.production;
    lines.push(
        showKey
            ? `  API key       ${config.notifyApiKey}  (generated for this run; set NOTIFY_API_KEY to keep one)`
            : "  API key       from NOTIFY_API_KEY"
    );
    const key = showKey ? config.notifyApiKey : "$NOTIFY_API_KEY";
    lines.push(
        "  Try it        " +
            `curl -X POST ${url}/rest/pusher/notify -H "Authorization: Bearer ${key}" ` +
            `-H "Content-Type: application/json" -d '${JSON.stringify(EXAMPLE_NOTIFICATION)}'`
    );
    lines.push(`Logs: refusals, warnings and errors; every request with LOG_LEVEL=debug. Stop with Ctrl+C.`, "");
    return lines.join("\n");
}
