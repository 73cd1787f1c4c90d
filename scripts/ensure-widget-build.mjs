// Runs before `npm start`: builds the widget when the built module is missing or older than its sources,
// so a fresh `npm install && npm start` shows a working playground. Quiet when it is up to date.
import { ensureWidgetBuild } from "./widget-build.mjs";

if ((process.env.NODE_ENV ?? "").toLowerCase() !== "production") {
    try {
        ensureWidgetBuild();
    } catch (error) {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    }
}
