// @ts-check
/**
 * Is the built Listen widget (dist/) up to date with its sources? Used by `npm start` (scripts/ensure-widget-build.mjs)
 * and by the test run's global setup (test/setup/global.ts), so a fresh clone's `npm start` and `npm test` both
 * build it once, before anything reads dist/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

/** The built widget module the playground and the browser tests load. */
export const BUILT_WIDGET = "dist/tmp/widgets/notifylisten/listen/Listen.mjs";
/** The package that ships to Studio Pro, written by the same build. */
const PACKAGE_DIR = "dist";
/** What the widget build reads: its sources, the shared protocol, the typings and the build configuration. */
const INPUTS = ["src", "protocol", "typings", "package.json", "rollup.config.mjs"];

/** @param {string} path */
function newestMtime(path) {
    if (!existsSync(path)) {
        return 0;
    }
    const stat = statSync(path);
    if (!stat.isDirectory()) {
        return stat.mtimeMs;
    }
    let newest = 0;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
        if (entry.name !== "__tests__" && entry.name !== "node_modules") {
            newest = Math.max(newest, newestMtime(join(path, entry.name)));
        }
    }
    return newest;
}

/** Why the widget must be built, or undefined when dist/ is up to date. @param {string} root */
export function widgetBuildReason(root = process.cwd()) {
    const built = join(root, BUILT_WIDGET);
    if (!existsSync(built)) {
        return "the widget is not built yet";
    }
    const mpk = readdirSync(join(root, PACKAGE_DIR)).some(version =>
        existsSync(join(root, PACKAGE_DIR, version, "notifylisten.Listen.mpk"))
    );
    if (!mpk) {
        return "the widget package (.mpk) is missing";
    }
    const builtAt = statSync(built).mtimeMs;
    const changed = INPUTS.find(input => newestMtime(join(root, input)) > builtAt);
    return changed === undefined ? undefined : `${changed} changed since the last build`;
}

/** Held while a build runs, so `npm start` and `npm test` started together never build over each other. */
const LOCK = "dist/.widget-build.lock";
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;
const LOCK_WAIT_MS = 10 * 60_000;

/** @param {number} ms */
function sleep(ms) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** @param {string} lock */
function acquire(lock) {
    const deadline = Date.now() + LOCK_WAIT_MS;
    mkdirSync(join(lock, ".."), { recursive: true });
    for (;;) {
        try {
            mkdirSync(lock);
            return;
        } catch {
            if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) {
                rmSync(lock, { recursive: true, force: true });
                continue;
            }
            if (Date.now() > deadline) {
                throw new Error(`Another widget build has held ${LOCK} for too long; remove it if no build runs.`);
            }
            sleep(500);
        }
    }
}

/**
 * Builds the widget (`npm run build:widget`) when it is missing or stale; returns the reason it built, or undefined.
 * Throws when the build fails. @param {string} root
 */
export function ensureWidgetBuild(root = process.cwd()) {
    if (widgetBuildReason(root) === undefined) {
        return undefined;
    }
    const lock = join(root, LOCK);
    acquire(lock);
    try {
        // Another build may have finished while this one waited for the lock.
        const reason = widgetBuildReason(root);
        return reason === undefined ? undefined : build(root, reason);
    } finally {
        rmSync(lock, { recursive: true, force: true });
    }
}

/** @param {string} root @param {string} reason */
function build(root, reason) {
    console.log(`Building the Listen widget (${reason})…`);
    const result = spawnSync("npm", ["run", "build:widget", "--silent"], {
        cwd: root,
        stdio: "inherit",
        shell: process.platform === "win32"
    });
    if (result.status !== 0) {
        throw new Error(`The widget build failed (exit ${result.status ?? result.signal}); see its output above.`);
    }
    return reason;
}
