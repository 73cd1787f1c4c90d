/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and summarizes where the CPU went: self time
 * by package / source file, the hottest functions by self time, and the heaviest functions of our
 * code and of packages by inclusive time (each sample counted once per function on its stack), and, given layer
 * rules, the busy time by layer of the request chain (each sample goes to the innermost layer on its stack).
 */
import { readFileSync } from "node:fs";
import { sourcePathOf } from "./processes";

export interface CallFrame {
    functionName: string;
    url: string;
    lineNumber: number;
}

interface ProfileNode {
    id: number;
    callFrame: CallFrame;
    children?: number[];
}

interface CpuProfile {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
}

export interface Share {
    name: string;
    ms: number;
    /** Of the busy (non-idle) time. */
    share: number;
}

export interface ProfileSummary {
    totalMs: number;
    busyMs: number;
    /** Self time by package (`node_modules/<name>`), our source file, node core, GC and V8. */
    byOwner: Share[];
    /** Hottest functions by self time. */
    topSelf: Share[];
    /** Our code and packages by inclusive time. */
    topInclusive: Share[];
    /** Packages and our source files by inclusive time (a sample counts once per owner on its stack). */
    ownersInclusive: Share[];
    /** Busy time by layer (empty without rules); samples with no layer on their stack go to `otherLayer`. */
    byLayer: Share[];
}

/** One layer of a request chain: the frames that belong to it (owner as `ownerOf` names it, function, URL). */
export interface LayerRule {
    name: string;
    matches(frame: CallFrame, owner: string): boolean;
}

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** Who owns a frame: a package, one of our source files, node core, or a V8 special. */
export function ownerOf(frame: CallFrame): string {
    if (SPECIAL.has(frame.functionName)) {
        return frame.functionName;
    }
    const url = frame.url;
    if (url === "") {
        return "(V8 builtins / native)";
    }
    const modules = url.lastIndexOf("node_modules/");
    if (modules >= 0 && !url.includes("node_modules/.cache/")) {
        const rest = url.slice(modules + "node_modules/".length).split("/");
        return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
    }
    if (url.startsWith("node:")) {
        const parts = url.slice("node:".length).split("/");
        const name = parts[0] === "internal" ? (parts[1] ?? "internal") : parts[0];
        return `node:${name.replace(/\.js$/, "")}`;
    }
    return sourcePathOf(url);
}

function frameName(frame: CallFrame): string {
    const owner = ownerOf(frame);
    if (SPECIAL.has(frame.functionName)) {
        return frame.functionName;
    }
    return `${frame.functionName || "(anonymous)"} — ${owner}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, number>, busyMs: number, limit: number): Share[] {
    return [...map.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, limit)
        .map(([name, ms]) => ({ name, ms, share: ms / busyMs }));
}

/** The innermost layer with a frame on the stack of sample node `id`. */
function layerOf(
    id: number,
    byId: Map<number, ProfileNode>,
    parent: Map<number, number>,
    rules: readonly LayerRule[]
): string | undefined {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        const owner = ownerOf(frame);
        const rule = rules.find(candidate => candidate.matches(frame, owner));
        if (rule !== undefined) {
            return rule.name;
        }
    }
    return undefined;
}

export function summarizeProfile(
    file: string,
    limit = 15,
    layers: { rules: readonly LayerRule[]; otherLayer: string } = { rules: [], otherLayer: "" }
): ProfileSummary {
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
    const byId = new Map<number, ProfileNode>();
    const parent = new Map<number, number>();
    for (const node of profile.nodes) {
        byId.set(node.id, node);
        for (const child of node.children ?? []) {
            parent.set(child, node.id);
        }
    }
    const self = new Map<string, number>();
    const owners = new Map<string, number>();
    const inclusive = new Map<string, number>();
    const ownerInclusive = new Map<string, number>();
    const byLayer = new Map<string, number>();
    let totalMs = 0;
    let idleMs = 0;
    profile.samples.forEach((id, index) => {
        const ms = (profile.timeDeltas[index] ?? 0) / 1000;
        totalMs += ms;
        const node = byId.get(id);
        if (node === undefined) {
            return;
        }
        if (node.callFrame.functionName === "(idle)") {
            idleMs += ms;
            return;
        }
        if (layers.rules.length > 0) {
            const layer = layerOf(id, byId, parent, layers.rules) ?? layers.otherLayer;
            byLayer.set(layer, (byLayer.get(layer) ?? 0) + ms);
        }
        const name = frameName(node.callFrame);
        self.set(name, (self.get(name) ?? 0) + ms);
        const owner = ownerOf(node.callFrame);
        owners.set(owner, (owners.get(owner) ?? 0) + ms);
        const seen = new Set<string>();
        const seenOwners = new Set<string>();
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
            const frame = byId.get(at)!.callFrame;
            const frameOwner = ownerOf(frame);
            if (SPECIAL.has(frameOwner) || frameOwner.startsWith("node:") || frameOwner.startsWith("(V8")) {
                continue;
            }
            const key = frameName(frame);
            if (!seen.has(key)) {
                seen.add(key);
                inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
            }
            if (!seenOwners.has(frameOwner)) {
                seenOwners.add(frameOwner);
                ownerInclusive.set(frameOwner, (ownerInclusive.get(frameOwner) ?? 0) + ms);
            }
        }
    });
    const busyMs = totalMs - idleMs;
    return {
        totalMs,
        busyMs,
        byOwner: top(owners, busyMs, limit),
        topSelf: top(self, busyMs, limit),
        topInclusive: top(inclusive, busyMs, limit + 10),
        ownersInclusive: top(ownerInclusive, busyMs, limit + 10),
        byLayer: top(byLayer, busyMs, Infinity)
    };
}
