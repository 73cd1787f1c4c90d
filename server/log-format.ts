/**
 * The `text` log format (LOG_FORMAT=text, the default when stdout is a terminal): pino still builds and redacts
 * each entry as JSON; this destination turns each line into `HH:MM:SS LEVEL message key=value ...` for a person
 * reading `npm start`. Log collectors get the JSON lines unchanged (LOG_FORMAT=json).
 */
import type { DestinationStream } from "pino";

const LEVEL_NAMES: Record<number, string> = {
    10: "TRACE",
    20: "DEBUG",
    30: "INFO ",
    40: "WARN ",
    50: "ERROR",
    60: "FATAL"
};
/** Fields every line has, or that the text already shows. */
const OMITTED = new Set(["level", "time", "msg", "service", "pid", "hostname"]);

function formatValue(value: unknown): string {
    if (typeof value === "string") {
        return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
    }
    return JSON.stringify(value);
}

/** One JSON log line as plain text (exported for tests). */
export function formatLine(line: string): string {
    let entry: Record<string, unknown>;
    try {
        entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
        return line.endsWith("\n") ? line : `${line}\n`;
    }
    const time = typeof entry.time === "string" ? entry.time.slice(11, 19) : "";
    const level = LEVEL_NAMES[Number(entry.level)] ?? String(entry.level);
    const parts = [time, level, typeof entry.msg === "string" ? entry.msg : ""];
    const err = entry.err as { message?: unknown; stack?: unknown } | undefined;
    for (const [key, value] of Object.entries(entry)) {
        if (!OMITTED.has(key) && key !== "err" && value !== undefined) {
            parts.push(`${key}=${formatValue(value)}`);
        }
    }
    if (err && typeof err.message === "string") {
        parts.push(`error=${formatValue(err.message)}`);
    }
    return parts.filter(part => part !== "").join(" ") + "\n";
}

/** A pino destination writing text lines to `out` (default: stdout). */
export function textDestination(out: { write(text: string): unknown } = process.stdout): DestinationStream {
    return {
        write(line: string): void {
            out.write(formatLine(line));
        }
    };
}
