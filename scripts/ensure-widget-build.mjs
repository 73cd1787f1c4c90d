// Runs before `npm start`: builds the widget when the built module is missing or older than its sources,
// so a fresh `npm install && npm start` shows a working playground. Skips quietly when it is up to date.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const built = "dist/tmp/widgets/notifylisten/listen/Listen.mjs";

function newestSource(dir) {
    let newest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
            if (entry.name !== "__tests__") newest = Math.max(newest, newestSource(path));
        } else {
            newest = Math.max(newest, statSync(path).mtimeMs);
        }
    }
    return newest;
}

if (process.env.NODE_ENV === "production") {
    process.exit(0);
}
if (existsSync(built) && statSync(built).mtimeMs >= newestSource("src")) {
    process.exit(0);
}
console.log(
    existsSync(built) ? "Widget sources changed: rebuilding the widget…" : "Building the widget (first start)…"
);
const result = spawnSync("npm", ["run", "build", "--silent"], {
    stdio: "inherit",
    shell: process.platform === "win32"
});
process.exit(result.status ?? 1);
