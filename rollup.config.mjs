// @ts-check
/**
 * Read by @mendix/pluggable-widgets-tools' rollup config (it loads a `rollup.config.mjs` beside package.json
 * and hands it the default configuration). The only change: TypeScript compiles the widget with
 * `src/tsconfig.json` (DOM types, no Node types) instead of the root `tsconfig.json`, which is a solution
 * file listing one tsconfig per part (docs/architecture.md).
 */
import typescript from "@rollup/plugin-typescript";

/** @param {{ configDefaultConfig: import("rollup").RollupOptions[], configProduction?: boolean }} args */
export default args =>
    args.configDefaultConfig.map(config => ({
        ...config,
        plugins: (Array.isArray(config.plugins) ? config.plugins : []).map(plugin =>
            plugin && typeof plugin === "object" && "name" in plugin && plugin.name === "typescript"
                ? typescript({
                      tsconfig: "src/tsconfig.json",
                      noEmitOnError: true,
                      sourceMap: !args.configProduction,
                      inlineSources: !args.configProduction,
                      // The tools transpile the result with babel; the same target as their own config.
                      target: "es2022",
                      exclude: ["**/__tests__/**/*"]
                  })
                : plugin
        )
    }));
