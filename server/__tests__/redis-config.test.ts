/**
 * REDIS_URL and REDIS_KEY_PREFIX: validated at start with messages naming the variable (never echoing a password),
 * fixed broker credentials required, and the URL masked for logs.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, maskRedisUrl } from "../config";

const BROKER = { BROKER_APP_ID: "1", BROKER_KEY: "key", BROKER_SECRET: "secret" };

function problems(env: NodeJS.ProcessEnv): string[] {
    try {
        loadConfig(env);
    } catch (error) {
        if (error instanceof ConfigError) {
            return error.issues.map(issue => `${issue.variable}: ${issue.message}`);
        }
        throw error;
    }
    return [];
}

describe("REDIS_URL", () => {
    it("is off by default: one instance, no Redis", () => {
        expect(loadConfig({}).redis).toBeUndefined();
    });

    it("reads the URL and the key prefix (default notifylisten:)", () => {
        expect(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", ...BROKER }).redis).toEqual({
            url: "redis://127.0.0.1:6379",
            keyPrefix: "notifylisten:"
        });
        expect(
            loadConfig({ REDIS_URL: "rediss://cache.example.com:6380/2", REDIS_KEY_PREFIX: "app1:", ...BROKER }).redis
        ).toEqual({ url: "rediss://cache.example.com:6380/2", keyPrefix: "app1:" });
    });

    it("refuses what is not a Redis URL, naming the variable and not echoing the value", () => {
        const found = problems({ REDIS_URL: "http://user:hunter2@cache:6379", ...BROKER });
        expect(found).toEqual([expect.stringMatching(/^REDIS_URL: must be a Redis URL: redis:\/\//)]);
        expect(found.join("\n")).not.toContain("hunter2");
        expect(problems({ REDIS_URL: "cache:6379", ...BROKER })[0]).toMatch(/^REDIS_URL: /);
    });

    it("needs fixed broker credentials with the embedded broker", () => {
        expect(problems({ REDIS_URL: "redis://127.0.0.1:6379" })).toEqual([
            expect.stringMatching(/^REDIS_URL: needs BROKER_APP_ID, BROKER_KEY and BROKER_SECRET/)
        ]);
        const pusher = { PUSHER_APP_ID: "1", PUSHER_KEY: "k", PUSHER_SECRET: "s", PUSHER_CLUSTER: "eu" };
        expect(problems({ REDIS_URL: "redis://127.0.0.1:6379", ...pusher })).toEqual([]);
    });

    it("refuses a bad key prefix and warns about a prefix without a URL", () => {
        expect(problems({ REDIS_URL: "redis://127.0.0.1", REDIS_KEY_PREFIX: "has space", ...BROKER })).toEqual([
            expect.stringMatching(/^REDIS_KEY_PREFIX: must be 1-64 letters/)
        ]);
        expect(loadConfig({ REDIS_KEY_PREFIX: "app1:" }).warnings).toContain(
            "REDIS_KEY_PREFIX is ignored: REDIS_URL is not set."
        );
    });
});

describe("maskRedisUrl", () => {
    it("hides the password and the user name, keeps host, port and database", () => {
        expect(maskRedisUrl("redis://:hunter2@cache:6379/1")).toBe("redis://:***@cache:6379/1");
        expect(maskRedisUrl("rediss://admin:hunter2@cache:6380")).toBe("rediss://***:***@cache:6380");
        expect(maskRedisUrl("redis://cache:6379")).toBe("redis://cache:6379");
    });
});
