/**
 * 6. Widget weight: the built widget module (`npm run build` output, what ships in the .mpk), and
 * esbuild bundles of `src/Listen.tsx` with the Mendix build's externals (react, react/jsx-runtime,
 * react-dom, big.js, mendix/*), once with pusher-js bundled and once with pusher-js external.
 * Minified; gzip level 9.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { REPO_ROOT } from "./lib/processes";
import type { BenchContext, Measurement, Section } from "./lib/report";
import { bytes } from "./lib/stats";

/** The widget budget: the shipped module, pusher-js included, at most 26 KB gzipped. */
export const TARGET_GZIP_BYTES = 26 * 1024;
/** The externals of @mendix/pluggable-widgets-tools' web build (configs/rollup.config.mjs, webExternal). */
export const MENDIX_EXTERNALS = ["mendix", "mendix/*", "react", "react/jsx-runtime", "react-dom", "big.js"];
const BUILT_MODULE = path.join(REPO_ROOT, "dist", "tmp", "widgets", "notifylisten", "listen", "Listen.mjs");
const MPK_DIR = path.join(REPO_ROOT, "dist");

export interface Weight {
    name: string;
    minified: number;
    gzipped: number;
    /** Minified bytes contributed by each input file (esbuild bundles only), largest first. */
    inputs?: Array<{ file: string; bytes: number }>;
}

function weigh(name: string, code: Uint8Array): Weight {
    return { name, minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength };
}

async function bundle(name: string, external: string[], entry = path.join(REPO_ROOT, "src", "Listen.tsx")) {
    const result = await build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        minify: true,
        format: "esm",
        platform: "browser",
        target: "es2020",
        mainFields: ["module", "browser", "main"],
        jsx: "automatic",
        define: { "process.env.NODE_ENV": '"production"' },
        external,
        // The widget's stylesheet ships beside the module in the mpk (the widget tools extract it): not JS weight.
        loader: { ".css": "empty" },
        metafile: true,
        logLevel: "error"
    });
    const output = Object.values(result.metafile.outputs)[0];
    const inputs = Object.entries(output?.inputs ?? {})
        .map(([file, info]) => ({ file, bytes: info.bytesInOutput }))
        .sort((a, b) => b.bytes - a.bytes);
    return { ...weigh(name, result.outputFiles[0].contents), inputs };
}

function newestSource(directory: string): number {
    return readdirSync(directory, { recursive: true, encoding: "utf8" })
        .filter(file => /\.(tsx?|xml)$/.test(file) && !file.includes("__tests__"))
        .reduce((newest, file) => Math.max(newest, statSync(path.join(directory, file)).mtimeMs), 0);
}

function findMpk(): string | undefined {
    if (!existsSync(MPK_DIR)) {
        return undefined;
    }
    const candidates = readdirSync(MPK_DIR, { recursive: true, encoding: "utf8" })
        .filter(file => file.endsWith(".mpk"))
        .map(file => path.join(MPK_DIR, file));
    return candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

export const widget: Measurement = {
    id: "widget",
    async run(_ctx: BenchContext): Promise<Section> {
        const withPusher = await bundle("esbuild: src/Listen.tsx with pusher-js", MENDIX_EXTERNALS);
        const withoutPusher = await bundle("esbuild: src/Listen.tsx, pusher-js external", [
            ...MENDIX_EXTERNALS,
            "pusher-js",
            "pusher-js/*"
        ]);
        // The widget imports pusher-js's worker build (src/connection/pusherJs.ts says why).
        const pusherOnly = await bundle(
            "esbuild: pusher-js alone (worker build, what the widget ships)",
            [],
            path.join(REPO_ROOT, "node_modules", "pusher-js", "dist", "worker", "pusher.worker.js")
        );
        const weights: Weight[] = [withPusher, withoutPusher, pusherOnly];
        const notes: string[] = [];
        let built: Weight | undefined;
        if (existsSync(BUILT_MODULE)) {
            built = weigh("npm run build: dist/.../Listen.mjs (ships in the mpk)", readFileSync(BUILT_MODULE));
            weights.unshift(built);
            if (statSync(BUILT_MODULE).mtimeMs < newestSource(path.join(REPO_ROOT, "src"))) {
                notes.push("dist/ is older than src/: run `npm run build` for current figures of the built module.");
            }
        } else {
            notes.push("No build output in dist/: run `npm run build` to include the built module and the .mpk.");
        }
        const mpk = findMpk();
        const mpkSize = mpk === undefined ? NaN : statSync(mpk).size;
        return {
            id: "widget",
            title: "6. Widget weight",
            method:
                "Minified JavaScript and its gzip (level 9) size. The built module comes from `npm run build` " +
                "(rollup + terser, pusher-js bundled). The esbuild bundles use the same externals as the Mendix web " +
                `build (${MENDIX_EXTERNALS.join(", ")}) and the same resolution order (module, browser, main).`,
            tables: [
                {
                    head: ["artifact", "minified", "gzipped"],
                    rows: [
                        ...weights.map(weight => [weight.name, bytes(weight.minified), bytes(weight.gzipped)]),
                        [
                            mpk === undefined ? ".mpk (not built)" : `.mpk: ${path.relative(REPO_ROOT, mpk)}`,
                            bytes(mpkSize),
                            "(zip)"
                        ]
                    ]
                },
                {
                    head: ["largest inputs of the bundle without pusher-js", "minified bytes in output", "share"],
                    rows: (withoutPusher.inputs ?? [])
                        .slice(0, 12)
                        .map(input => [
                            input.file,
                            bytes(input.bytes),
                            `${((input.bytes / withoutPusher.minified) * 100).toFixed(0)} %`
                        ])
                }
            ],
            targets: [
                {
                    what: `widget JS with pusher-js, gzipped (${built === undefined ? "esbuild bundle" : "the built module"})`,
                    goal: `<= ${bytes(TARGET_GZIP_BYTES)}`,
                    value: bytes((built ?? withPusher).gzipped),
                    met: (built ?? withPusher).gzipped <= TARGET_GZIP_BYTES
                }
            ],
            notes,
            raw: {
                weights: weights.map(({ inputs: _inputs, ...weight }) => weight),
                inputsWithoutPusher: withoutPusher.inputs,
                mpk: mpk === undefined ? null : { file: path.relative(REPO_ROOT, mpk), bytes: mpkSize }
            }
        };
    }
};
