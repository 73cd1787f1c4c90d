import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// One runner for the whole repo. Three projects: widget unit tests in jsdom, server/integration
// tests in Node, and browser end-to-end tests (real Chromium) that run one file at a time.
// .ci/run sets VITEST_JSON_REPORT, so the README's plain `npm test` also writes the report its summary line reads.
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
    test: {
        reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
        projects: [
            {
                resolve: {
                    // `mendix/session` ships only typings; the Mendix client provides it at run time.
                    alias: {
                        "mendix/session": fileURLToPath(
                            new URL("./src/__tests__/shims/mendixSession.ts", import.meta.url)
                        )
                    }
                },
                test: {
                    name: "widget",
                    environment: "jsdom",
                    include: ["src/**/__tests__/**/*.test.{ts,tsx}"],
                    setupFiles: ["test/setup/widget.ts"]
                }
            },
            {
                test: {
                    name: "server",
                    environment: "node",
                    include: [
                        "server/**/__tests__/**/*.test.ts",
                        "protocol/**/__tests__/**/*.test.ts",
                        "playground/**/__tests__/**/*.test.ts",
                        "bench/**/__tests__/**/*.test.ts",
                        "test/**/*.test.ts"
                    ],
                    exclude: ["test/e2e/**", "node_modules/**"],
                    testTimeout: 20_000,
                    hookTimeout: 30_000
                }
            },
            {
                test: {
                    name: "e2e",
                    environment: "node",
                    // Builds the widget once, before the first browser test, when dist/ is missing or stale.
                    globalSetup: ["test/setup/widget-build.ts"],
                    include: ["test/e2e/**/*.test.ts"],
                    pool: "forks",
                    poolOptions: { forks: { singleFork: true } },
                    testTimeout: 60_000,
                    hookTimeout: 120_000
                }
            }
        ]
    }
});
