/**
 * The key that signs the playground's session cookies (runtime.ts), kept in a file so that the demo sessions survive
 * a restart of `npm start`, as a real Mendix app's sessions survive a restart of the companion server. Demo only:
 * the fake Mendix app exists only in local demo mode, and this key protects nothing but its demo users.
 *
 * The file is `.playground/session-secret` in the repository (gitignored), 32 random bytes written once, readable by
 * its owner only. When it cannot be written (a read-only checkout), the key is random for this process and the
 * sessions last until the server stops.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./root.js";

export const SESSION_SECRET_FILE = path.join(REPO_ROOT, ".playground", "session-secret");

export interface SessionSecret {
    secret: Buffer;
    /** Why the key is not kept across restarts, when it is not. */
    problem?: string;
}

/** The key in `file`, created there on first use. */
export function loadSessionSecret(file = SESSION_SECRET_FILE): SessionSecret {
    try {
        const stored = Buffer.from(readFileSync(file, "utf8").trim(), "base64url");
        if (stored.length >= 32) {
            return { secret: stored };
        }
    } catch {
        // Not there yet (or unreadable): create it below.
    }
    const secret = randomBytes(32);
    try {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, secret.toString("base64url") + "\n", { mode: 0o600 });
        return { secret };
    } catch (error) {
        return {
            secret,
            problem: `cannot keep the playground's session key in ${file} (${String(error)}): its sessions end when the server stops`
        };
    }
}
