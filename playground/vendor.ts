/**
 * Browser modules of the playground, built once per process with the esbuild JS API and kept in memory.
 *
 * The built widget imports `react`, `react/jsx-runtime`, `react-dom`, `big.js` and `mendix/*` as bare
 * specifiers, exactly as the Mendix client resolves them. React 19 ships CommonJS only, so one esbuild
 * bundle (`shared.js`) holds React, ReactDOM and big.js, and one thin ES module per specifier re-exports
 * its part: every importer gets the SAME React instance.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type { BuildOptions, BuildResult } from "esbuild";
import { REPO_ROOT } from "./root.js";

/** URL prefix under which the playground serves its browser modules. */
export const VENDOR_PREFIX = "/playground/vendor/";

export interface BrowserModule {
    contentType: string;
    body: string;
}

/** Bare specifier -> served file name. */
const SPECIFIERS: Readonly<Record<string, { file: string; shared?: string; namedFrom?: string }>> = {
    react: { file: "react.js", shared: "react", namedFrom: "react" },
    "react/jsx-runtime": { file: "react-jsx-runtime.js", shared: "jsxRuntime", namedFrom: "react/jsx-runtime" },
    "react-dom": { file: "react-dom.js", shared: "reactDom", namedFrom: "react-dom" },
    "react-dom/client": { file: "react-dom-client.js", shared: "reactDomClient", namedFrom: "react-dom/client" },
    "big.js": { file: "big.js", shared: "Big" },
    "mendix/session": { file: "mendix-session.js" }
};

/** The import map the playground page declares: bare specifier -> URL. */
export function importMap(): { imports: Record<string, string> } {
    const imports: Record<string, string> = {};
    for (const [specifier, { file }] of Object.entries(SPECIFIERS)) {
        imports[specifier] = VENDOR_PREFIX + file;
    }
    return { imports };
}

/** Bare specifiers the playground provides (to compare with what the built widget imports). */
export function providedSpecifiers(): string[] {
    return Object.keys(SPECIFIERS);
}

const JS = "text/javascript; charset=utf-8";

/**
 * esbuild is a devDependency: load it only when the playground builds its modules, so that importing
 * this file never fails on a production install (where the playground is off).
 */
async function build(options: BuildOptions & { write: false }): Promise<BuildResult<{ write: false }>> {
    const esbuild = await import("esbuild");
    return esbuild.build(options);
}
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function namedExports(specifier: string): string[] {
    const require = createRequire(path.join(REPO_ROOT, "package.json"));
    const exported = require(specifier) as Record<string, unknown>;
    return Object.keys(exported).filter(name => IDENTIFIER.test(name) && name !== "default");
}

function reexportModule(sharedName: string, names: string[]): string {
    const lines = [
        `import { ${sharedName} as m } from "./shared.js";`,
        "export default m;",
        ...names.map(name => `export const ${name} = m[${JSON.stringify(name)}];`)
    ];
    return lines.join("\n") + "\n";
}

async function bundleShared(): Promise<string> {
    const result = await build({
        stdin: {
            contents: [
                'import react from "react";',
                'import jsxRuntime from "react/jsx-runtime";',
                'import reactDom from "react-dom";',
                'import reactDomClient from "react-dom/client";',
                'import Big from "big.js";',
                "export { react, jsxRuntime, reactDom, reactDomClient, Big };"
            ].join("\n"),
            resolveDir: REPO_ROOT,
            sourcefile: "playground-shared.js",
            loader: "js"
        },
        absWorkingDir: REPO_ROOT,
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2020",
        minify: true,
        legalComments: "none",
        define: { "process.env.NODE_ENV": '"production"' },
        write: false,
        logLevel: "silent"
    });
    return result.outputFiles[0].text;
}

/** Bundles one of the playground's own TypeScript browser entries, leaving bare specifiers to the import map. */
async function bundleClient(entry: string): Promise<string> {
    const result = await build({
        entryPoints: [path.join(REPO_ROOT, "playground/client", entry)],
        absWorkingDir: REPO_ROOT,
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2020",
        jsx: "automatic",
        external: Object.keys(SPECIFIERS),
        define: { "process.env.NODE_ENV": '"production"' },
        write: false,
        logLevel: "silent"
    });
    return result.outputFiles[0].text;
}

async function buildAll(): Promise<Map<string, BrowserModule>> {
    const [shared, session, app] = await Promise.all([
        bundleShared(),
        bundleClient("mendix-session.ts"),
        bundleClient("app.tsx")
    ]);
    const modules = new Map<string, BrowserModule>();
    modules.set("shared.js", { contentType: JS, body: shared });
    for (const { file, shared: sharedName, namedFrom } of Object.values(SPECIFIERS)) {
        if (sharedName && namedFrom) {
            modules.set(file, { contentType: JS, body: reexportModule(sharedName, namedExports(namedFrom)) });
        } else if (sharedName) {
            const body = `import { ${sharedName} as m } from "./shared.js";\nexport default m;\nexport { m as ${sharedName} };\n`;
            modules.set(file, { contentType: JS, body });
        }
    }
    modules.set("mendix-session.js", { contentType: JS, body: session });
    modules.set("app.js", { contentType: JS, body: app });
    return modules;
}

let cache: Promise<Map<string, BrowserModule>> | undefined;

/**
 * All browser modules by file name (`shared.js`, `react.js`, ..., `mendix-session.js`, `app.js`).
 * Built on first use, then served from memory; a failed build is retried on the next call.
 */
export function browserModules(): Promise<Map<string, BrowserModule>> {
    if (!cache) {
        cache = buildAll();
        cache.catch(() => {
            cache = undefined;
        });
    }
    return cache;
}
