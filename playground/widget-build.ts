/**
 * Finds the BUILT Listen widget (what ships in the mpk) for the playground: first the build output
 * `dist/tmp/widgets/notifylisten/listen/`, else the newest `dist/<version>/notifylisten.Listen.mpk`
 * (a zip file, read here without extracting it to disk).
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
import { REPO_ROOT } from "./root.js";

/** Widget package path and name (package.json `packagePath` / `widgetName`). */
export const WIDGET_PACKAGE = "notifylisten";
export const WIDGET_NAME = "Listen";
/** The widget module's file name inside the build. */
export const WIDGET_MODULE = `${WIDGET_NAME}.mjs`;

const WIDGET_DIR_IN_PACKAGE = `${WIDGET_PACKAGE}/${WIDGET_NAME.toLowerCase()}/`;

export interface WidgetBuild {
    /** Where the files come from (shown on the page and in logs). */
    source: string;
    /** File names available (e.g. `Listen.mjs`, `Listen.css`). */
    files: string[];
    read(file: string): Buffer | undefined;
}

/** Reads every file entry of a zip archive (stored or deflated entries). */
export function readZip(archive: Buffer): Map<string, Buffer> {
    const entries = new Map<string, Buffer>();
    const minEnd = Math.max(0, archive.length - 22 - 0xffff);
    let end = -1;
    for (let i = archive.length - 22; i >= minEnd; i--) {
        if (archive.readUInt32LE(i) === 0x06054b50) {
            end = i;
            break;
        }
    }
    if (end < 0) {
        throw new Error("Not a zip file (no end of central directory).");
    }
    const count = archive.readUInt16LE(end + 10);
    let offset = archive.readUInt32LE(end + 16);
    for (let n = 0; n < count; n++) {
        if (archive.readUInt32LE(offset) !== 0x02014b50) {
            throw new Error("Corrupt zip central directory.");
        }
        const method = archive.readUInt16LE(offset + 10);
        const compressedSize = archive.readUInt32LE(offset + 20);
        const nameLength = archive.readUInt16LE(offset + 28);
        const extraLength = archive.readUInt16LE(offset + 30);
        const commentLength = archive.readUInt16LE(offset + 32);
        const localOffset = archive.readUInt32LE(offset + 42);
        const name = archive.toString("utf8", offset + 46, offset + 46 + nameLength);
        offset += 46 + nameLength + extraLength + commentLength;
        if (name.endsWith("/")) {
            continue;
        }
        const localNameLength = archive.readUInt16LE(localOffset + 26);
        const localExtraLength = archive.readUInt16LE(localOffset + 28);
        const start = localOffset + 30 + localNameLength + localExtraLength;
        const raw = archive.subarray(start, start + compressedSize);
        if (method === 0) {
            entries.set(name, Buffer.from(raw));
        } else if (method === 8) {
            entries.set(name, inflateRawSync(raw));
        } else {
            throw new Error(`Zip entry ${name} uses unsupported compression method ${method}.`);
        }
    }
    return entries;
}

function fromDirectory(root: string, directory: string): WidgetBuild {
    const list = (): string[] => readdirSync(directory).filter(file => statSync(path.join(directory, file)).isFile());
    return {
        source: path.relative(root, path.join(directory, WIDGET_MODULE)),
        files: list(),
        read: file => {
            if (!list().includes(file)) {
                return undefined;
            }
            return readFileSync(path.join(directory, file));
        }
    };
}

function newestMpk(distDir: string): string | undefined {
    if (!existsSync(distDir)) {
        return undefined;
    }
    const candidates: string[] = [];
    for (const version of readdirSync(distDir)) {
        const file = path.join(distDir, version, `${WIDGET_PACKAGE}.${WIDGET_NAME}.mpk`);
        if (existsSync(file)) {
            candidates.push(file);
        }
    }
    candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    return candidates[0];
}

function fromMpk(root: string, file: string): WidgetBuild | undefined {
    const entries = readZip(readFileSync(file));
    const files = new Map<string, Buffer>();
    for (const [name, content] of entries) {
        const index = name.indexOf(WIDGET_DIR_IN_PACKAGE);
        if (index >= 0 && !name.slice(index + WIDGET_DIR_IN_PACKAGE.length).includes("/")) {
            files.set(name.slice(index + WIDGET_DIR_IN_PACKAGE.length), content);
        }
    }
    if (!files.has(WIDGET_MODULE)) {
        return undefined;
    }
    return {
        source: `${path.relative(root, file)} (${WIDGET_DIR_IN_PACKAGE}${WIDGET_MODULE})`,
        files: [...files.keys()],
        read: name => files.get(name)
    };
}

/**
 * The built widget, or undefined when `npm run build` has not run. Looked up on every call, so a
 * rebuild while the server runs is picked up on the next page load.
 */
export function findWidgetBuild(root: string = REPO_ROOT): WidgetBuild | undefined {
    const directory = path.join(root, "dist/tmp/widgets", WIDGET_DIR_IN_PACKAGE);
    if (existsSync(path.join(directory, WIDGET_MODULE))) {
        return fromDirectory(root, directory);
    }
    const mpk = newestMpk(path.join(root, "dist"));
    return mpk ? fromMpk(root, mpk) : undefined;
}

/** Bare module specifiers an ES module imports (`react`, `mendix/session`, ...), in order of appearance. */
export function bareImports(source: string): string[] {
    const found = new Set<string>();
    const pattern =
        /(?:\bimport\s*(?:[\w*{}\s,$]+\s*from\s*)?|\bexport\s*[\w*{}\s,$]+\s*from\s*|\bimport\s*\(\s*)["']([^"']+)["']/g;
    for (const match of source.matchAll(pattern)) {
        const specifier = match[1];
        if (!specifier.startsWith(".") && !specifier.startsWith("/") && !/^[a-z]+:/i.test(specifier)) {
            found.add(specifier);
        }
    }
    return [...found];
}
