/**
 * The repository root: the nearest folder above this module that holds `package.json`. The playground
 * runs from source (`npm start`, tests) and compiled (`dist/playground/`), so it is found, not assumed.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(start: string): string {
    for (let dir = start; ; dir = path.dirname(dir)) {
        if (existsSync(path.join(dir, "package.json"))) {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            throw new Error(`No package.json above ${start}: cannot locate the repository root.`);
        }
    }
}

export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
