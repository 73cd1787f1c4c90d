/** METRICS_TOKEN and METRICS_CONSOLE: off by default, validated like the API key, never echoed, not the API key. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config";
import { banner } from "../../server/startup";
import { configError } from "../setup/config";

const API_KEY = "config-test-api-key-0123456789abcdefgh";
const TOKEN = "config-test-metrics-token-0123456789abcd";

describe("METRICS_TOKEN", () => {
    it("is off by default, also in local demo mode", () => {
        expect(loadConfig({}).metrics).toEqual({ console: false });
        expect(loadConfig({ NOTIFY_API_KEY: API_KEY }).metrics.token).toBeUndefined();
    });

    it("turns metrics and the console on; METRICS_CONSOLE=false keeps only metrics", () => {
        expect(loadConfig({ METRICS_TOKEN: TOKEN }).metrics).toEqual({ token: TOKEN, console: true });
        expect(loadConfig({ METRICS_TOKEN: TOKEN, METRICS_CONSOLE: "off" }).metrics).toEqual({
            token: TOKEN,
            console: false
        });
    });

    it("needs at least 32 printable characters, and the message never echoes the value", () => {
        const short = configError({ METRICS_TOKEN: "short-but-secret" });
        expect(short.variables).toEqual(["METRICS_TOKEN"]);
        expect(short.message).toContain("at least 32 characters");
        expect(short.message).not.toContain("short-but-secret");
        const spaces = configError({ METRICS_TOKEN: `${TOKEN} with spaces` });
        expect(spaces.variables).toEqual(["METRICS_TOKEN"]);
        expect(spaces.message).not.toContain(TOKEN);
    });

    it("must differ from NOTIFY_API_KEY", () => {
        const same = configError({ NOTIFY_API_KEY: API_KEY, METRICS_TOKEN: API_KEY });
        expect(same.variables).toEqual(["METRICS_TOKEN"]);
        expect(same.message).toContain("must differ from NOTIFY_API_KEY");
        expect(same.message).not.toContain(API_KEY);
    });

    it("warns that METRICS_CONSOLE alone does nothing", () => {
        const config = loadConfig({ METRICS_CONSOLE: "true" });
        expect(config.metrics.console).toBe(false);
        expect(config.warnings.join("\n")).toContain("METRICS_CONSOLE is ignored");
    });
});

describe("the start banner", () => {
    it("names /metrics and /console when they are on, never the token", () => {
        const on = banner(loadConfig({ METRICS_TOKEN: TOKEN }), "http://127.0.0.1:8080", "the playground");
        expect(on).toContain("http://127.0.0.1:8080/metrics");
        expect(on).toContain("http://127.0.0.1:8080/console");
        expect(on).not.toContain(TOKEN);
        const metricsOnly = banner(
            loadConfig({ METRICS_TOKEN: TOKEN, METRICS_CONSOLE: "false" }),
            "http://127.0.0.1:8080",
            "x"
        );
        expect(metricsOnly).toContain("/metrics");
        expect(metricsOnly).not.toContain("/console");
        expect(banner(loadConfig({}), "http://127.0.0.1:8080", "x")).not.toContain("/metrics");
    });
});
