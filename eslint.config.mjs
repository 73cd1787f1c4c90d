// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import prettier from "eslint-config-prettier";
import globals from "globals";

const TESTS = ["**/__tests__/**"];

/**
 * Import boundaries between the parts (docs/architecture.md, "Parts"). Each entry forbids a part to import
 * another one; `no-restricted-imports` matches the import specifier, so relative paths are covered by `**`.
 */
const forbid = {
    server: { group: ["**/server", "**/server/**"], message: "Only server/ may import the server." },
    widget: {
        group: ["**/src", "**/src/**"],
        message: "The widget (src/) is imported by nobody: share wire rules through protocol/."
    },
    playground: {
        group: ["**/playground", "**/playground/**"],
        message: "Only the server's entry (server/main.ts) mounts the playground."
    },
    test: { group: ["**/test", "**/test/**"], message: "Product code never imports test code (test/)." },
    node: { group: ["node:*"], message: "This part runs in the browser (or everywhere): no Node modules." },
    redis: {
        group: ["ioredis", "ioredis/**"],
        message: "Only the Redis cluster adapter (server/cluster/redis*.ts) talks to Redis: use the ClusterAdapter."
    }
};

/** The Redis adapter's files, the only ones that may import the Redis client. */
const REDIS_ADAPTER = ["server/cluster/redis*.ts"];

/** @param {Array<{ group: string[]; message: string }>} patterns */
const restrict = patterns => ({ "no-restricted-imports": ["error", { patterns }] });

export default tseslint.config(
    { ignores: ["node_modules/**", "dist/**", "build/**", "coverage/**", "typings/**", ".playground/**"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.{ts,tsx,mjs,js}"],
        languageOptions: { globals: { ...globals.node, ...globals.browser } },
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
            "no-console": "off",
            eqeqeq: ["error", "always", { null: "ignore" }]
        }
    },
    {
        files: ["src/**/*.{ts,tsx}"],
        plugins: { "react-hooks": reactHooks },
        rules: {
            "react-hooks/rules-of-hooks": "error",
            "react-hooks/exhaustive-deps": "error"
        }
    },
    // Boundaries. Tests (in __tests__/ and test/) may import any part.
    {
        files: ["protocol/**/*.ts"],
        ignores: TESTS,
        rules: restrict([forbid.server, forbid.widget, forbid.playground, forbid.test, forbid.node, forbid.redis])
    },
    {
        files: ["src/**/*.{ts,tsx}"],
        ignores: TESTS,
        rules: restrict([forbid.server, forbid.playground, forbid.test, forbid.node, forbid.redis])
    },
    {
        files: ["server/**/*.ts"],
        ignores: [...TESTS, "server/main.ts", ...REDIS_ADAPTER],
        rules: restrict([forbid.widget, forbid.playground, forbid.test, forbid.redis])
    },
    { files: REDIS_ADAPTER, ignores: TESTS, rules: restrict([forbid.widget, forbid.playground, forbid.test]) },
    { files: ["server/main.ts"], rules: restrict([forbid.widget, forbid.test, forbid.redis]) },
    {
        files: ["playground/**/*.{ts,tsx}"],
        ignores: TESTS,
        rules: restrict([forbid.server, forbid.widget, forbid.test, forbid.redis])
    },
    { files: ["playground/client/**/*.{ts,tsx}"], ignores: TESTS, rules: restrict([forbid.node, forbid.redis]) },
    prettier
);
