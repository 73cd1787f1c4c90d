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
    /** METRICS_TOKEN / METRICS_CONSOLE: GET /metrics and the operator console, both only with the token. */
    metrics: MetricsConfig;
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
    /** POST /rest/pusher/auth per minute per Mendix session (per client address without a session cookie). */
    rateLimitAuth: number;
    /** POST /rest/pusher/auth per minute per client address, whatever the session: the backstop. */
    rateLimitAuthAddress: number;
    rateLimitNotify: number;
    bodyLimitBytes: number;
    /** Name of the Mendix session cookie (its `__Host-` form is read too); the auth rate limit keys on it. */
    sessionCookie: string;
    /** Least-privilege settings of the embedded broker. */
    brokerLimits: BrokerLimits;
    /** Time limits of the HTTP server (WebSocket upgrade requests included). */
    httpTimeouts: HttpTimeouts;
    /** MENDIX_MAX_CONCURRENT / MENDIX_QUEUE_*: how many access checks run at once, how many wait and how long. */
    accessLimits: AccessLimits;
    /** CATCHUP_*: what the server keeps for widgets that resubscribe after an interruption. */
    catchup: CatchupConfig;
    /** REDIS_URL / REDIS_KEY_PREFIX: several instances share their state through Redis; undefined: one instance. */
    redis?: RedisConfig;
    /** Harmless oddities worth a log line at start (ignored variables and the like). */
    warnings: string[];
}

/** BROKER_* switches of the embedded broker; every default is the least privilege the product needs. */
export interface BrokerLimits {
    /** BROKER_CLIENT_EVENTS: relay `client-*` events between listeners (the product never sends them). */
    clientEvents: boolean;
    /** BROKER_PUBLIC_CHANNELS: allow channels without a signature (the product uses private channels only). */
    publicChannels: boolean;
    /** BROKER_MAX_SUBSCRIPTIONS: channels one WebSocket may join. */
    maxSubscriptions: number;
    /** BROKER_MAX_CONNECTIONS: WebSockets in total (lowered further by the open-files limit). */
    maxConnections: number;
    /** BROKER_MAX_CONNECTIONS_PER_ADDRESS: WebSockets from one client address (IPv6: per /56). */
    maxConnectionsPerAddress: number;
}

/** HTTP_* time limits in milliseconds. */
export interface HttpTimeouts {
    /** HTTP_HEADERS_TIMEOUT_MS: the request line and headers (also of a WebSocket upgrade) must arrive within it. */
    headersMs: number;
    /** HTTP_REQUEST_TIMEOUT_MS: the whole request, body included, must arrive within it. */
    requestMs: number;
    /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle kept-alive connection is closed after it. */
    keepAliveMs: number;
}

/** MENDIX_MAX_CONCURRENT, MENDIX_QUEUE_LIMIT, MENDIX_QUEUE_TIMEOUT_MS. */
export interface AccessLimits {
    /** Access checks sent to the Mendix app at once; the others wait in a queue. */
    maxConcurrent: number;
    /** Access checks that may wait; beyond it a check answers 503 at once. */
    queueLimit: number;
    /** Longest wait for a free slot; then 503 `access_check_unavailable` with `Retry-After`. */
    queueTimeoutMs: number;
}

/** CATCHUP_TTL_SECONDS, CATCHUP_MAX_CHANNELS, CATCHUP_MAX_BYTES (docs/architecture-catchup.md). */
export interface CatchupConfig {
    /** How long a notification is kept for widgets that missed it. */
    ttlMs: number;
    /** Most channels with catch-up state (least recently notified dropped first). */
    maxChannels: number;
    /** Most bytes of kept payloads. */
    maxBytes: number;
}

/** REDIS_URL, REDIS_KEY_PREFIX (docs/kubernetes.md). */
export interface RedisConfig {
    /** `redis://` or `rediss://` URL; may hold a password: log it only through `maskRedisUrl`. */
    url: string;
    /** Prefix of every key and Pub/Sub channel, so several apps can share one Redis. */
    keyPrefix: string;
}

/** The Redis URL with its password (and user name) replaced by `***`, for logs and error messages. */
export function maskRedisUrl(url: string): string {
    try {
        const parsed = new URL(url);
        if (parsed.password !== "") {
            parsed.password = "***";
        }
        if (parsed.username !== "") {
            parsed.username = "***";
        }
        return parsed.toString();
    } catch {
        return "(unreadable REDIS_URL)";
    }
}

const REDIS_KEY_PREFIX = /^[A-Za-z0-9:_.-]{1,64}$/;

function isRedisUrl(value: string): boolean {
    try {
        const parsed = new URL(value);
        return (parsed.protocol === "redis:" || parsed.protocol === "rediss:") && parsed.hostname !== "";
    } catch {
        return false;
    }
}

/** Off (`token` undefined) unless METRICS_TOKEN is set. */
export interface MetricsConfig {
    /** Bearer token of GET /metrics and the console (also the password of HTTP Basic); never logged. */
    token?: string;
    /** Serve the operator console at /console (METRICS_CONSOLE, default true with a token). */
    console: boolean;
}

/** NODE_ENV values that mean "not production" (compared case-insensitively); any other value is production. */
export const NON_PRODUCTION_ENVS = ["development", "test"] as const;

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
/** RFC 6265 cookie-name token (no separators, no spaces, no control characters). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
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

/** NOTIFY_API_KEY, METRICS_TOKEN: at least MIN_API_KEY_LENGTH printable characters; messages never echo the value. */
const secretText = optionalText.pipe(
    z
        .string()
        .refine(value => value.length >= MIN_API_KEY_LENGTH, {
            error: issue =>
                `must be at least ${MIN_API_KEY_LENGTH} characters long (it has ${(issue.input as string).length}); generate one with: openssl rand -base64 32`
        })
        .refine(value => /^[\x21-\x7e]+$/.test(value), {
            error: "must consist of printable ASCII characters without spaces"
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
    NOTIFY_API_KEY: secretText,
    METRICS_TOKEN: secretText,
    METRICS_CONSOLE: booleanText,
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
    RATE_LIMIT_AUTH_ADDRESS: integer(1, 10_000_000),
    RATE_LIMIT_NOTIFY: integer(1, 1_000_000),
    BODY_LIMIT_BYTES: integer(16_384, 104_857_600),
    MENDIX_SESSION_COOKIE: optionalText.pipe(
        z
            .string()
            .regex(COOKIE_NAME, {
                error: "must be a cookie name such as XASSESSIONID (letters, digits, - _ . and the like)"
            })
            .refine(
                value => !value.toLowerCase().startsWith("__host-") && !value.toLowerCase().startsWith("__secure-"),
                {
                    error: "give the name without the __Host- or __Secure- prefix (the __Host- form is read as well)"
                }
            )
            .optional()
    ),
    BROKER_CLIENT_EVENTS: booleanText,
    BROKER_PUBLIC_CHANNELS: booleanText,
    BROKER_MAX_SUBSCRIPTIONS: integer(1, 100_000),
    BROKER_MAX_CONNECTIONS: integer(1, 10_000_000),
    BROKER_MAX_CONNECTIONS_PER_ADDRESS: integer(1, 10_000_000),
    HTTP_HEADERS_TIMEOUT_MS: integer(100, 600_000),
    HTTP_REQUEST_TIMEOUT_MS: integer(100, 3_600_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(100, 600_000),
    MENDIX_MAX_CONCURRENT: integer(1, 10_000),
    MENDIX_QUEUE_LIMIT: integer(0, 1_000_000),
    MENDIX_QUEUE_TIMEOUT_MS: integer(100, 120_000),
    CATCHUP_TTL_SECONDS: integer(10, 604_800),
    CATCHUP_MAX_CHANNELS: integer(100, 10_000_000),
    CATCHUP_MAX_BYTES: integer(1_048_576, 17_179_869_184),
    // The value is never echoed: it may hold a password.
    REDIS_URL: optionalText.pipe(
        z
            .string()
            .refine(isRedisUrl, {
                error: "must be a Redis URL: redis://[:password@]host[:port][/db], or rediss:// for TLS"
            })
            .optional()
    ),
    REDIS_KEY_PREFIX: optionalText.pipe(
        z
            .string()
            .regex(REDIS_KEY_PREFIX, { error: "must be 1-64 letters, digits and : _ . - (for example notifylisten:)" })
            .optional()
    )
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

/**
 * NODE_ENV, compared case-insensitively: `development` and `test` are not production, unset is not production,
 * and every other value (`production`, `Production`, `prod`, `staging`, ...) is production, with a warning
 * when it is not exactly `production`: an unknown value must never switch the playground on.
 */
function isProduction(nodeEnv: string | undefined, warnings: string[]): boolean {
    if (nodeEnv === undefined) {
        return false;
    }
    const lower = nodeEnv.toLowerCase();
    if ((NON_PRODUCTION_ENVS as readonly string[]).includes(lower)) {
        return false;
    }
    if (lower !== "production") {
        warnings.push(
            `NODE_ENV=${nodeEnv.slice(0, 40)} is treated as production (only ${NON_PRODUCTION_ENVS.join(" and ")} are not, in any case).`
        );
    }
    return true;
}

function parseHttpTimeouts(env: Env, issues: ConfigIssue[]): HttpTimeouts {
    const timeouts: HttpTimeouts = {
        headersMs: env.HTTP_HEADERS_TIMEOUT_MS ?? 10_000,
        requestMs: env.HTTP_REQUEST_TIMEOUT_MS ?? 30_000,
        keepAliveMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? 5_000
    };
    if (timeouts.headersMs > timeouts.requestMs) {
        // Node refuses a headers timeout above the request timeout.
        const variable =
            env.HTTP_HEADERS_TIMEOUT_MS !== undefined ? "HTTP_HEADERS_TIMEOUT_MS" : "HTTP_REQUEST_TIMEOUT_MS";
        issues.push({
            variable,
            message: `HTTP_HEADERS_TIMEOUT_MS (${timeouts.headersMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${timeouts.requestMs})`
        });
    }
    return timeouts;
}

/** METRICS_TOKEN turns metrics and the console on; it must not be the API key (reading figures is not notifying). */
function parseMetrics(env: Env, issues: ConfigIssue[], warnings: string[]): MetricsConfig {
    const token = env.METRICS_TOKEN;
    if (token === undefined) {
        if (env.METRICS_CONSOLE === true) {
            warnings.push("METRICS_CONSOLE is ignored: the console is served only with METRICS_TOKEN.");
        }
        return { console: false };
    }
    if (env.NOTIFY_API_KEY !== undefined && token === env.NOTIFY_API_KEY) {
        issues.push({
            variable: "METRICS_TOKEN",
            message: "must differ from NOTIFY_API_KEY: whoever reads the metrics must not be able to notify"
        });
    }
    return { token, console: env.METRICS_CONSOLE ?? true };
}

function collect(env: Env, issues: ConfigIssue[], warnings: string[]): Config {
    const production = isProduction(env.NODE_ENV, warnings);
    const productionText =
        env.NODE_ENV === undefined || env.NODE_ENV === "production"
            ? "NODE_ENV=production"
            : `NODE_ENV=${env.NODE_ENV.slice(0, 40)} (production)`;
    if (production && env.NOTIFY_API_KEY === undefined) {
        issues.push({ variable: "NOTIFY_API_KEY", message: `is required with ${productionText}` });
    }
    if (production && env.MENDIX_APP_URL === undefined) {
        issues.push({ variable: "MENDIX_APP_URL", message: `is required with ${productionText}` });
    }
    if (production && env.PLAYGROUND === true) {
        warnings.push("PLAYGROUND is ignored: the playground is always off in production.");
    } else if (env.MENDIX_APP_URL !== undefined && env.PLAYGROUND === true) {
        warnings.push(
            "PLAYGROUND is ignored: the playground runs only in local demo mode, never next to a real Mendix app (MENDIX_APP_URL is set)."
        );
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
    // Local demo mode only: never in production, never next to a real Mendix app.
    const playground = !production && env.MENDIX_APP_URL === undefined && (env.PLAYGROUND ?? true);
    const httpTimeouts = parseHttpTimeouts(env, issues);
    const brokerLimits: BrokerLimits = {
        clientEvents: env.BROKER_CLIENT_EVENTS ?? false,
        publicChannels: env.BROKER_PUBLIC_CHANNELS ?? false,
        maxSubscriptions: env.BROKER_MAX_SUBSCRIPTIONS ?? 100,
        maxConnections: env.BROKER_MAX_CONNECTIONS ?? 20_000,
        maxConnectionsPerAddress: env.BROKER_MAX_CONNECTIONS_PER_ADDRESS ?? 1_000
    };
    if (broker.mode !== "embedded") {
        const set = (
            [
                "BROKER_CLIENT_EVENTS",
                "BROKER_PUBLIC_CHANNELS",
                "BROKER_MAX_SUBSCRIPTIONS",
                "BROKER_MAX_CONNECTIONS",
                "BROKER_MAX_CONNECTIONS_PER_ADDRESS"
            ] as const
        ).filter(name => env[name] !== undefined);
        if (set.length > 0) {
            warnings.push(
                `${set.join(", ")} ${set.length === 1 ? "is" : "are"} ignored: PUSHER_* selects an external broker (set its limits there).`
            );
        }
    }
    if (typeof trustProxy === "number" || trustProxy === true) {
        warnings.push(
            `TRUST_PROXY=${String(trustProxy)} trusts X-Forwarded-For from whoever connects: make sure only your proxy can reach this server, or set TRUST_PROXY to the proxy's address instead.`
        );
    }
    if (!production && !playground && env.MENDIX_APP_URL === undefined) {
        warnings.push(
            "MENDIX_APP_URL is not set and the playground is off: browser requests to /rest/pusher/auth will answer 503."
        );
    }
    const notifyApiKey = env.NOTIFY_API_KEY ?? randomBytes(32).toString("base64url");
    const metrics = parseMetrics(env, issues, warnings);
    if (env.REDIS_URL !== undefined && broker.mode === "embedded" && broker.credentials === undefined) {
        issues.push({
            variable: "REDIS_URL",
            message:
                "needs BROKER_APP_ID, BROKER_KEY and BROKER_SECRET: every instance must use the same broker credentials, or a page that reconnects to another instance is refused"
        });
    }
    if (env.REDIS_URL === undefined && env.REDIS_KEY_PREFIX !== undefined) {
        warnings.push("REDIS_KEY_PREFIX is ignored: REDIS_URL is not set.");
    }
    return {
        production,
        port: env.PORT ?? 8080,
        host: env.HOST ?? "0.0.0.0",
        logLevel: env.LOG_LEVEL ?? "info",
        logFormat: env.LOG_FORMAT,
        notifyApiKey,
        notifyApiKeyGenerated: env.NOTIFY_API_KEY === undefined,
        metrics,
        mendixAppUrl: env.MENDIX_APP_URL,
        mendixTimeoutMs: env.MENDIX_TIMEOUT_MS ?? 5000,
        corsOrigins,
        trustProxy,
        broker,
        ws,
        playground,
        rateLimitAuth: env.RATE_LIMIT_AUTH ?? 300,
        rateLimitAuthAddress: env.RATE_LIMIT_AUTH_ADDRESS ?? 6_000,
        rateLimitNotify: env.RATE_LIMIT_NOTIFY ?? 3000,
        bodyLimitBytes: env.BODY_LIMIT_BYTES ?? 1_048_576,
        sessionCookie: env.MENDIX_SESSION_COOKIE ?? "XASSESSIONID",
        brokerLimits,
        httpTimeouts,
        accessLimits: {
            maxConcurrent: env.MENDIX_MAX_CONCURRENT ?? 32,
            queueLimit: env.MENDIX_QUEUE_LIMIT ?? 10_000,
            queueTimeoutMs: env.MENDIX_QUEUE_TIMEOUT_MS ?? 10_000
        },
        catchup: {
            ttlMs: (env.CATCHUP_TTL_SECONDS ?? 1800) * 1000,
            maxChannels: env.CATCHUP_MAX_CHANNELS ?? 50_000,
            maxBytes: env.CATCHUP_MAX_BYTES ?? 33_554_432
        },
        redis:
            env.REDIS_URL === undefined
                ? undefined
                : { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX ?? "notifylisten:" },
        warnings
    };
}
