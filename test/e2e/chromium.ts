/**
 * Which Chromium the browser tests and scripts/screenshot.ts use, and how they start it. Without vitest, so that
 * scripts can import it outside the test runner.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
];

/** Path of a Chromium/Chrome executable, or undefined. `CHROMIUM_PATH`, when set, is the only candidate. */
export function findChromium(): string | undefined {
    const explicit = process.env.CHROMIUM_PATH;
    if (explicit) {
        return existsSync(explicit) ? explicit : undefined;
    }
    const candidates = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable"
    ];
    for (const candidate of candidates) {
        if (existsSync(candidate)) {
            return candidate;
        }
    }
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
        try {
            const found = execFileSync("which", [name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
            if (found.trim()) {
                return found.trim();
            }
        } catch {
            // not on PATH
        }
    }
    return undefined;
}
