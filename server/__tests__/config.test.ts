import { describe, expect, it } from "vitest";
import { loadConfig } from "../config";
import { configError } from "../../test/setup/config";

const KEY = "k".repeat(32);

describe("loadConfig defaults", () => {
    it("gives the documented defaults with an empty environment", () => {
        const config = loadConfig({});
        expect(config).toMatchObject({
            production: false,
            port: 8080,
            host: "0.0.0.0",
            logLevel: "info",
            notifyApiKeyGenerated: true,
            mendixAppUrl: undefined,
            mendixTimeoutMs: 5000,
            corsOrigins: [],
            trustProxy: "loopback",
            broker: { mode: "embedded" },
            ws: {},
            playground: true,
            rateLimitAuth: 300,
            rateLimitNotify: 3000,
            bodyLimitBytes: 1_048_576
        });
        expect(config.broker).toEqual({ mode: "embedded" });
        expect(config.notifyApiKey.length).toBeGreaterThanOrEqual(32);
        expect(loadConfig({}).notifyApiKey).not.toBe(config.notifyApiKey);
    });

    it("treats empty strings as unset", () => {
        const config = loadConfig({ PORT: "", NOTIFY_API_KEY: " ", PUSHER_APP_ID: "", CORS_ORIGINS: "" });
        expect(config.port).toBe(8080);
        expect(config.notifyApiKeyGenerated).toBe(true);
        expect(config.broker.mode).toBe("embedded");
        expect(config.corsOrigins).toEqual([]);
    });

    it("reads every variable", () => {
        const config = loadConfig({
            PORT: "9000",
            HOST: "127.0.0.1",
            LOG_LEVEL: "debug",
            NOTIFY_API_KEY: KEY,
            MENDIX_APP_URL: "https://app.example.com/",
            MENDIX_TIMEOUT_MS: "1500",
            CORS_ORIGINS: "https://app.example.com, http://localhost:8081",
            TRUST_PROXY: "10.0.0.0/8,loopback",
            WS_HOST: "ws.example.com",
            WS_PORT: "443",
            WS_TLS: "true",
            BROKER_APP_ID: "1",
            BROKER_KEY: "key1",
            BROKER_SECRET: "secret1",
            PLAYGROUND: "false",
            RATE_LIMIT_AUTH: "10",
            RATE_LIMIT_NOTIFY: "20",
            BODY_LIMIT_BYTES: "65536"
        });
        expect(config).toMatchObject({
            port: 9000,
            host: "127.0.0.1",
            logLevel: "debug",
            notifyApiKey: KEY,
            notifyApiKeyGenerated: false,
            mendixAppUrl: "https://app.example.com",
            mendixTimeoutMs: 1500,
            corsOrigins: ["https://app.example.com", "http://localhost:8081"],
            trustProxy: "10.0.0.0/8,loopback",
            ws: { host: "ws.example.com", port: 443, tls: true },
            broker: { mode: "embedded", credentials: { appId: "1", key: "key1", secret: "secret1" } },
            playground: false,
            rateLimitAuth: 10,
            rateLimitNotify: 20,
            bodyLimitBytes: 65536
        });
    });

    it("reads LOG_LEVEL case-insensitively", () => {
        expect(loadConfig({ LOG_LEVEL: "WARN" }).logLevel).toBe("warn");
    });

    it("parses TRUST_PROXY booleans and hop counts", () => {
        expect(loadConfig({ TRUST_PROXY: "false" }).trustProxy).toBe(false);
        expect(loadConfig({ TRUST_PROXY: "TRUE" }).trustProxy).toBe(true);
        expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    });

    it("selects Pusher Channels with a cluster", () => {
        const config = loadConfig({ PUSHER_APP_ID: "1", PUSHER_KEY: "k", PUSHER_SECRET: "s", PUSHER_CLUSTER: "eu" });
        expect(config.broker).toEqual({ mode: "pusher-channels", appId: "1", key: "k", secret: "s", cluster: "eu" });
    });

    it("selects a Pusher-compatible host with TLS by default and port 443, or 80 without TLS", () => {
        const base = { PUSHER_APP_ID: "1", PUSHER_KEY: "k", PUSHER_SECRET: "s", PUSHER_HOST: "soketi.local" };
        expect(loadConfig(base).broker).toEqual({
            mode: "pusher-host",
            appId: "1",
            key: "k",
            secret: "s",
            host: "soketi.local",
            port: 443,
            useTLS: true
        });
        expect(loadConfig({ ...base, PUSHER_USE_TLS: "false" }).broker).toMatchObject({ port: 80, useTLS: false });
        expect(loadConfig({ ...base, PUSHER_PORT: "6001", PUSHER_USE_TLS: "0" }).broker).toMatchObject({
            port: 6001,
            useTLS: false
        });
    });

    it("warns about ignored variables instead of failing", () => {
        const config = loadConfig({
            PUSHER_APP_ID: "1",
            PUSHER_KEY: "k",
            PUSHER_SECRET: "s",
            PUSHER_CLUSTER: "eu",
            WS_HOST: "x.example.com",
            BROKER_APP_ID: "1",
            BROKER_KEY: "k",
            BROKER_SECRET: "s"
        });
        expect(config.warnings.join("\n")).toMatch(/WS_HOST.*ignored/);
        expect(config.warnings.join("\n")).toMatch(/BROKER_APP_ID.*ignored/);
    });

    it("turns the playground off in production and requires the key and the app URL", () => {
        const config = loadConfig({
            NODE_ENV: "production",
            NOTIFY_API_KEY: KEY,
            MENDIX_APP_URL: "https://app.example.com",
            PLAYGROUND: "true"
        });
        expect(config.production).toBe(true);
        expect(config.playground).toBe(false);
        expect(config.warnings.join("\n")).toMatch(/PLAYGROUND is ignored/);
        expect(configError({ NODE_ENV: "production" }).variables).toEqual(["NOTIFY_API_KEY", "MENDIX_APP_URL"]);
    });
});

describe("loadConfig errors name each bad variable", () => {
    it.each([
        ["PORT", "abc", /PORT: must be a whole number/],
        ["PORT", "70000", /PORT: must be at most 65535/],
        ["HOST", "http://x", /HOST: must be a host name/],
        ["LOG_LEVEL", "loud", /LOG_LEVEL: must be one of fatal, error/],
        ["NOTIFY_API_KEY", "short", /NOTIFY_API_KEY: must be at least 32 characters long \(it has 5\)/],
        ["NOTIFY_API_KEY", `${KEY} with spaces`, /NOTIFY_API_KEY: must consist of printable ASCII/],
        ["MENDIX_APP_URL", "ftp://x", /MENDIX_APP_URL: must be an http/],
        ["MENDIX_APP_URL", "not a url", /MENDIX_APP_URL: must be an http/],
        ["MENDIX_TIMEOUT_MS", "10", /MENDIX_TIMEOUT_MS: must be at least 50/],
        [
            "CORS_ORIGINS",
            "https://a.example.com/path",
            /CORS_ORIGINS: "https:\/\/a.example.com\/path" is not an exact origin/
        ],
        ["TRUST_PROXY", "everyone", /TRUST_PROXY: must be true, false.*\(bad: everyone\)/],
        ["PUSHER_CLUSTER", "EU!", /PUSHER_CLUSTER: must be a Pusher cluster name/],
        ["PUSHER_PORT", "0", /PUSHER_PORT: must be at least 1/],
        ["PUSHER_USE_TLS", "maybe", /PUSHER_USE_TLS: must be true or false/],
        ["WS_PORT", "x", /WS_PORT: must be a whole number/],
        ["WS_TLS", "2", /WS_TLS: must be true or false/],
        ["PLAYGROUND", "sure", /PLAYGROUND: must be true or false/],
        ["RATE_LIMIT_AUTH", "0", /RATE_LIMIT_AUTH: must be at least 1/],
        ["RATE_LIMIT_NOTIFY", "-5", /RATE_LIMIT_NOTIFY: must be a whole number/],
        ["BODY_LIMIT_BYTES", "100", /BODY_LIMIT_BYTES: must be at least 16384/]
    ])("%s=%s", (variable, value, message) => {
        const error = configError({ [variable]: value });
        expect(error.variables).toEqual([variable]);
        expect(error.message).toMatch(message);
    });

    it("never puts the API key into the message", () => {
        const secret = "s3cr3t-but-too-short";
        expect(configError({ NOTIFY_API_KEY: secret }).message).not.toContain(secret);
    });

    it("reports every bad variable at once, including cross-variable problems", () => {
        const error = configError({
            PORT: "x",
            LOG_LEVEL: "loud",
            NODE_ENV: "production",
            CORS_ORIGINS: "*",
            PUSHER_APP_ID: "1"
        });
        expect(error.variables).toEqual([
            "PORT",
            "LOG_LEVEL",
            "NOTIFY_API_KEY",
            "MENDIX_APP_URL",
            "CORS_ORIGINS",
            "PUSHER_KEY",
            "PUSHER_SECRET"
        ]);
        expect(error.message).toMatch(/^Invalid configuration \(7 problems\):/);
        expect(error.message).toMatch(/CORS_ORIGINS: \* is not allowed with NODE_ENV=production/);
    });

    it("names the missing PUSHER_* variables when only some are set", () => {
        const error = configError({ PUSHER_KEY: "k" });
        expect(error.variables).toEqual(["PUSHER_APP_ID", "PUSHER_SECRET"]);
        expect(error.message).toMatch(
            /PUSHER_APP_ID: is missing: PUSHER_APP_ID, PUSHER_KEY, PUSHER_SECRET must be set together/
        );
    });

    it("names PUSHER_CLUSTER when neither cluster nor host is set", () => {
        const error = configError({ PUSHER_APP_ID: "1", PUSHER_KEY: "k", PUSHER_SECRET: "s" });
        expect(error.variables).toEqual(["PUSHER_CLUSTER"]);
        expect(error.message).toMatch(/PUSHER_CLUSTER: is missing: set PUSHER_CLUSTER .* or PUSHER_HOST/);
    });

    it("names the three PUSHER_* credentials when only PUSHER_HOST is set", () => {
        const error = configError({ PUSHER_HOST: "soketi.local" });
        expect(error.variables).toEqual(["PUSHER_APP_ID", "PUSHER_KEY", "PUSHER_SECRET"]);
        expect(error.message).toMatch(/PUSHER_HOST is set, which needs PUSHER_APP_ID, PUSHER_KEY, PUSHER_SECRET/);
    });

    it("names the missing BROKER_* variables when only some are set", () => {
        const error = configError({ BROKER_APP_ID: "1", BROKER_SECRET: "s" });
        expect(error.variables).toEqual(["BROKER_KEY"]);
        expect(error.message).toMatch(
            /BROKER_KEY: is missing: BROKER_APP_ID, BROKER_KEY, BROKER_SECRET must be set together/
        );
    });
});
