/**
 * Configuration of the companion server, read from environment variables and validated with zod.
 * `loadConfig` never logs and never puts a secret value into an error message.
 */
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { z } from "zod";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `json`: one JSON object a line (for log collectors); `text`: short plain lines for a person at a terminal. */
export const LOG_FORMATS = ["json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface BrokerCredentials {
    appId: string;
    key: string;
    secret: string;
}

/** Which broker the server talks to. */
export type BrokerConfig =
    /** The embedded broker in this process; random credentials per start unless BROKER_* fix them. */
    | { mode: "embedded"; credentials?: BrokerCredentials }
    /** Pusher Channels (the hosted service) in a cluster. */
    | { mode: "pusher-channels"; appId: string; key: string; secret: string; cluster: string }
    /** A Pusher-compatible server (soketi, Laravel Reverb, ...). */
    | { mode: "pusher-host"; appId: string; key: string; secret: string; host: string; port: number; useTLS: boolean };

/** WS_HOST / WS_PORT / WS_TLS: what browsers connect to, when set explicitly. */
export interface WsOverrides {
    host?: string;
    port?: number;
    tls?: boolean;
}

export interface Config {
    /** NODE_ENV=production */
    production: boolean;
    port: number;
    host: string;
    logLevel: LogLevel;
    /** LOG_FORMAT; undefined: text when stdout is a terminal, else json (decided by server/main.ts). */
    logFormat?: LogFormat;
    /** NOTIFY_API_KEY, or a random key generated for this start (see notifyApiKeyGenerated). */
    notifyApiKey: string;
    notifyApiKeyGenerated: boolean;
    /** MENDIX_APP_URL without trailing slash. */
    mendixAppUrl?: string;
    mendixTimeoutMs: number;
    /** Allowed browser origins (exact `scheme://host[:port]`), or `*` (outside production). */
    corsOrigins: string[];
    /** Express `trust proxy` setting. */
    trustProxy: boolean | number | string;
    broker: BrokerConfig;
    ws: WsOverrides;
    playground: boolean;
    rateLimitAuth: number;
    rateLimitNotify: number;
    bodyLimitBytes: number;
    /** Harmless oddities worth a log line at start (ignored variables and the like). */
    warnings: string[];
}

export interface ConfigIssue {
    variable: string;
    message: string;
}

/** Thrown by `loadConfig`; the message names each bad variable, one per line. */
export class ConfigError extends Error {
    readonly issues: ConfigIssue[];

    constructor(issues: ConfigIssue[]) {
        super(
            `Invalid configuration (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
                issues.map(issue => `  ${issue.variable}: ${issue.message}`).join("\n")
        );
        this.name = "ConfigError";
        this.issues = issues;
    }

    /** Names of the bad variables, in order, without duplicates. */
    get variables(): string[] {
        return [...new Set(this.issues.map(issue => issue.variable))];
    }
}

export const MIN_API_KEY_LENGTH = 32;
const NAMED_PROXIES = new Set(["loopback", "linklocal", "uniquelocal"]);
const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

/** Empty strings count as unset (`FOO=` in a compose file or a shell). */
const optionalText = z
    .string()
    .optional()
    .transform(value => (value === undefined || value.trim() === "" ? undefined : value.trim()));

function integer(min: number, max: number) {
    return optionalText.pipe(
        z
            .string()
            .regex(/^\d+$/, { error: `must be a whole number between ${min} and ${max}` })
            .transform(Number)
            .pipe(
                z
                    .number()
                    .int()
                    .min(min, { error: `must be at least ${min}` })
                    .max(max, { error: `must be at most ${max}` })
            )
            .optional()
    );
}

const booleanText = optionalText.pipe(
    z
        .string()
        .toLowerCase()
        .refine(value => TRUE_WORDS.has(value) || FALSE_WORDS.has(value), {
            error: "must be true or false"
        })
        .transform(value => TRUE_WORDS.has(value))
        .optional()
);

const httpUrl = optionalText.pipe(
    z
        .string()
        .refine(value => {
            try {
                const url = new URL(value);
                return (url.protocol === "http:" || url.protocol === "https:") && url.search === "" && url.hash === "";
            } catch {
                return false;
            }
        }, "must be an http:// or https:// URL without query or fragment, e.g. https://myapp.mendixcloud.com")
        .transform(value => value.replace(/\/+$/, ""))
        .optional()
);

/** A host name or IP address, no scheme, no port, no path. */
const hostName = optionalText.pipe(
    z
        .string()
        .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+|[0-9A-Fa-f:]+)$/, {
            error: "must be a host name or IP address without scheme, port or path"
        })
        .optional()
);

const envSchema = z.object({
    NODE_ENV: optionalText,
    PORT: integer(0, 65535),
    HOST: hostName,
    LOG_LEVEL: optionalText.pipe(
        z
            .string()
            .toLowerCase()
            .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }))
            .optional()
    ),
    LOG_FORMAT: optionalText.pipe(
        z
            .string()
            .toLowerCase()
            .pipe(z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(", ")}` }))
            .optional()
    ),
    NOTIFY_API_KEY: optionalText.pipe(
        z
            .string()
            .refine(value => value.length >= MIN_API_KEY_LENGTH, {
                // Never echo the key itself.
                error: issue =>
                    `must be at least ${MIN_API_KEY_LENGTH} characters long (it has ${(issue.input as string).length}); generate one with: openssl rand -base64 32`
            })
            .refine(value => /^[\x21-\x7e]+$/.test(value), {
                error: "must consist of printable ASCII characters without spaces"
            })
            .optional()
    ),
    MENDIX_APP_URL: httpUrl,
    MENDIX_TIMEOUT_MS: integer(50, 120_000),
    CORS_ORIGINS: optionalText,
    TRUST_PROXY: optionalText,
    PUSHER_APP_ID: optionalText,
    PUSHER_KEY: optionalText,
    PUSHER_SECRET: optionalText,
    PUSHER_CLUSTER: optionalText.pipe(
        z
            .string()
            .regex(/^[a-z0-9-]+$/, { error: "must be a Pusher cluster name such as eu, us2 or ap1" })
            .optional()
    ),
    PUSHER_HOST: hostName,
    PUSHER_PORT: integer(1, 65535),
    PUSHER_USE_TLS: booleanText,
    WS_HOST: hostName,
    WS_PORT: integer(1, 65535),
    WS_TLS: booleanText,
    BROKER_APP_ID: optionalText,
    BROKER_KEY: optionalText,
    BROKER_SECRET: optionalText,
    PLAYGROUND: booleanText,
    RATE_LIMIT_AUTH: integer(1, 1_000_000),
    RATE_LIMIT_NOTIFY: integer(1, 1_000_000),
    BODY_LIMIT_BYTES: integer(16_384, 104_857_600)
});

type Env = z.output<typeof envSchema>;

function parseCorsOrigins(raw: string | undefined, production: boolean, issues: ConfigIssue[]): string[] {
    if (raw === undefined) {
        return [];
    }
    const origins: string[] = [];
    for (const entry of raw
        .split(",")
        .map(part => part.trim())
        .filter(part => part !== "")) {
        if (entry === "*") {
            if (production) {
                issues.push({ variable: "CORS_ORIGINS", message: "* is not allowed with NODE_ENV=production" });
            } else {
                origins.push(entry);
            }
            continue;
        }
        let origin: string | undefined;
        try {
            const url = new URL(entry);
            origin =
                (url.protocol === "http:" || url.protocol === "https:") && url.origin === entry ? entry : undefined;
        } catch {
            origin = undefined;
        }
        if (origin === undefined) {
            issues.push({
                variable: "CORS_ORIGINS",
                message: `"${entry}" is not an exact origin like https://app.example.com or http://localhost:8081 (no path, no trailing slash)`
            });
        } else {
            origins.push(origin);
        }
    }
    return origins;
}

function parseTrustProxy(raw: string | undefined, issues: ConfigIssue[]): boolean | number | string {
    if (raw === undefined) {
        return "loopback";
    }
    const lower = raw.toLowerCase();
    if (lower === "true" || lower === "false") {
        return lower === "true";
    }
    if (/^\d+$/.test(raw)) {
        return Number(raw);
    }
    const entries = raw.split(",").map(part => part.trim());
    const bad = entries.filter(entry => {
        if (NAMED_PROXIES.has(entry)) {
            return false;
        }
        const [address, prefix, ...rest] = entry.split("/");
        if (rest.length > 0 || isIP(address) === 0) {
            return true;
        }
        return prefix !== undefined && !/^\d{1,3}$/.test(prefix);
    });
    if (bad.length > 0) {
        issues.push({
            variable: "TRUST_PROXY",
            message: `must be true, false, a hop count, or a comma-separated list of loopback, linklocal, uniquelocal, IP addresses and CIDR ranges (bad: ${bad.join(", ")})`
        });
    }
    return entries.join(",");
}

function missingOf(env: Env, names: ReadonlyArray<keyof Env>): Array<keyof Env> {
    return names.filter(name => env[name] === undefined);
}

function parseBroker(env: Env, issues: ConfigIssue[], warnings: string[]): BrokerConfig {
    const pusherTrio = ["PUSHER_APP_ID", "PUSHER_KEY", "PUSHER_SECRET"] as const;
    const pusherExtras = ["PUSHER_CLUSTER", "PUSHER_HOST", "PUSHER_PORT", "PUSHER_USE_TLS"] as const;
    const brokerTrio = ["BROKER_APP_ID", "BROKER_KEY", "BROKER_SECRET"] as const;
    const missingPusher = missingOf(env, pusherTrio);
    const setExtras = pusherExtras.filter(name => env[name] !== undefined);

    if (missingPusher.length > 0 && missingPusher.length < pusherTrio.length) {
        for (const name of missingPusher) {
            issues.push({
                variable: name,
                message: `is missing: ${pusherTrio.join(", ")} must be set together (or none of them, for the embedded broker)`
            });
        }
    } else if (missingPusher.length === pusherTrio.length && setExtras.length > 0) {
        for (const name of pusherTrio) {
            issues.push({
                variable: name,
                message: `is missing: ${setExtras.join(", ")} ${setExtras.length === 1 ? "is" : "are"} set, which needs ${pusherTrio.join(", ")} as well`
            });
        }
    }

    const missingBroker = missingOf(env, brokerTrio);
    if (missingBroker.length > 0 && missingBroker.length < brokerTrio.length) {
        for (const name of missingBroker) {
            issues.push({
                variable: name,
                message: `is missing: ${brokerTrio.join(", ")} must be set together (or none of them, for random credentials)`
            });
        }
    }

    if (missingPusher.length > 0) {
        const credentials =
            missingBroker.length === 0
                ? { appId: env.BROKER_APP_ID!, key: env.BROKER_KEY!, secret: env.BROKER_SECRET! }
                : undefined;
        return credentials ? { mode: "embedded", credentials } : { mode: "embedded" };
    }

    if (missingBroker.length < brokerTrio.length) {
        warnings.push("BROKER_APP_ID, BROKER_KEY and BROKER_SECRET are ignored: PUSHER_* selects an external broker.");
    }
    const appId = env.PUSHER_APP_ID!;
    const key = env.PUSHER_KEY!;
    const secret = env.PUSHER_SECRET!;
    if (env.PUSHER_HOST !== undefined) {
        if (env.PUSHER_CLUSTER !== undefined) {
            warnings.push("PUSHER_CLUSTER is ignored because PUSHER_HOST is set.");
        }
        const useTLS = env.PUSHER_USE_TLS ?? true;
        return {
            mode: "pusher-host",
            appId,
            key,
            secret,
            host: env.PUSHER_HOST,
            port: env.PUSHER_PORT ?? (useTLS ? 443 : 80),
            useTLS
        };
    }
    if (env.PUSHER_CLUSTER === undefined) {
        issues.push({
            variable: "PUSHER_CLUSTER",
            message:
                "is missing: set PUSHER_CLUSTER (Pusher Channels, e.g. eu) or PUSHER_HOST (a Pusher-compatible server)"
        });
    }
    for (const name of ["PUSHER_PORT", "PUSHER_USE_TLS"] as const) {
        if (env[name] !== undefined) {
            warnings.push(`${name} is ignored: it only applies together with PUSHER_HOST.`);
        }
    }
    return { mode: "pusher-channels", appId, key, secret, cluster: env.PUSHER_CLUSTER ?? "" };
}

/**
 * Reads and validates the configuration. Throws `ConfigError` naming every bad variable.
 * Outside production a missing NOTIFY_API_KEY is replaced by a random key (`notifyApiKeyGenerated`).
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
    const issues: ConfigIssue[] = [];
    const warnings: string[] = [];
    const parsed = envSchema.safeParse(env);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            issues.push({ variable: String(issue.path[0] ?? "environment"), message: issue.message });
        }
        // Validate what can still be validated, so that one run reports every bad variable.
        const partial: Record<string, unknown> = { ...env };
        for (const issue of parsed.error.issues) {
            delete partial[String(issue.path[0])];
        }
        const rest = envSchema.safeParse(partial);
        if (rest.success) {
            const reported = new Set(issues.map(issue => issue.variable));
            const more: ConfigIssue[] = [];
            collect(rest.data, more, warnings);
            issues.push(...more.filter(issue => !reported.has(issue.variable)));
        }
        throw new ConfigError(issues);
    }
    const config = collect(parsed.data, issues, warnings);
    if (issues.length > 0) {
        throw new ConfigError(issues);
    }
    return config;
}

function collect(env: Env, issues: ConfigIssue[], warnings: string[]): Config {
    const production = env.NODE_ENV === "production";
    if (production && env.NOTIFY_API_KEY === undefined) {
        issues.push({ variable: "NOTIFY_API_KEY", message: "is required with NODE_ENV=production" });
    }
    if (production && env.MENDIX_APP_URL === undefined) {
        issues.push({ variable: "MENDIX_APP_URL", message: "is required with NODE_ENV=production" });
    }
    if (production && env.PLAYGROUND === true) {
        warnings.push("PLAYGROUND is ignored: the playground is always off with NODE_ENV=production.");
    }
    const corsOrigins = parseCorsOrigins(env.CORS_ORIGINS, production, issues);
    const trustProxy = parseTrustProxy(env.TRUST_PROXY, issues);
    const broker = parseBroker(env, issues, warnings);
    const ws: WsOverrides = {};
    if (env.WS_HOST !== undefined) ws.host = env.WS_HOST;
    if (env.WS_PORT !== undefined) ws.port = env.WS_PORT;
    if (env.WS_TLS !== undefined) ws.tls = env.WS_TLS;
    if (broker.mode === "pusher-channels" && Object.keys(ws).length > 0) {
        warnings.push("WS_HOST, WS_PORT and WS_TLS are ignored with Pusher Channels (pusher-js knows its hosts).");
    }
    const playground = !production && (env.PLAYGROUND ?? true);
    if (!production && !playground && env.MENDIX_APP_URL === undefined) {
        warnings.push(
            "MENDIX_APP_URL is not set and the playground is off: browser requests to /rest/pusher/auth will answer 503."
        );
    }
    const notifyApiKey = env.NOTIFY_API_KEY ?? randomBytes(32).toString("base64url");
    return {
        production,
        port: env.PORT ?? 8080,
        host: env.HOST ?? "0.0.0.0",
        logLevel: env.LOG_LEVEL ?? "info",
        logFormat: env.LOG_FORMAT,
        notifyApiKey,
        notifyApiKeyGenerated: env.NOTIFY_API_KEY === undefined,
        mendixAppUrl: env.MENDIX_APP_URL,
        mendixTimeoutMs: env.MENDIX_TIMEOUT_MS ?? 5000,
        corsOrigins,
        trustProxy,
        broker,
        ws,
        playground,
        rateLimitAuth: env.RATE_LIMIT_AUTH ?? 300,
        rateLimitNotify: env.RATE_LIMIT_NOTIFY ?? 3000,
        bodyLimitBytes: env.BODY_LIMIT_BYTES ?? 1_048_576,
        warnings
    };
}
