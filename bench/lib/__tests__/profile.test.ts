import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { COMPILED_ROOT, REPO_ROOT } from "../processes";
import { ownerOf, summarizeProfile } from "../profile";

const dir = mkdtempSync(path.join(os.tmpdir(), "bench-profile-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function frame(functionName: string, url: string, lineNumber = 0) {
    return { functionName, url, lineNumber, columnNumber: 0, scriptId: "0" };
}

describe("ownerOf", () => {
    it("names packages, node core, our sources (compiled back to .ts) and V8 specials", () => {
        expect(ownerOf(frame("send", `file://${REPO_ROOT}/node_modules/ws/lib/sender.js`))).toBe("ws");
        expect(ownerOf(frame("x", `file://${REPO_ROOT}/node_modules/@scope/pkg/index.js`))).toBe("@scope/pkg");
        expect(ownerOf(frame("emit", "node:events"))).toBe("node:events");
        expect(ownerOf(frame("writeHead", "node:_http_server"))).toBe("node:_http_server");
        expect(ownerOf(frame("onread", "node:internal/stream_base_commons"))).toBe("node:stream_base_commons");
        expect(ownerOf(frame("publish", `file://${COMPILED_ROOT}/server/broker/hub.js`))).toBe(
            path.join("server", "broker", "hub.ts")
        );
        expect(ownerOf(frame("writev", ""))).toBe("(V8 builtins / native)");
        expect(ownerOf(frame("(garbage collector)", ""))).toBe("(garbage collector)");
    });
});

describe("summarizeProfile", () => {
    it("splits self time by function and owner, leaves idle out and counts inclusive time once per sample", () => {
        const hub = `file://${COMPILED_ROOT}/server/broker/hub.js`;
        const ws = `file://${REPO_ROOT}/node_modules/ws/lib/sender.js`;
        // (root) -> publish (hub) -> send (ws) -> send (ws, recursion); (root) -> (idle)
        const profile = {
            nodes: [
                { id: 1, callFrame: frame("(root)", ""), children: [2, 5] },
                { id: 2, callFrame: frame("publish", hub, 9), children: [3] },
                { id: 3, callFrame: frame("send", ws, 19), children: [4] },
                { id: 4, callFrame: frame("send", ws, 19), children: [] },
                { id: 5, callFrame: frame("(idle)", ""), children: [] }
            ],
            startTime: 0,
            endTime: 10_000,
            samples: [2, 4, 4, 3, 5, 5],
            // microseconds
            timeDeltas: [1000, 2000, 2000, 1000, 3000, 1000]
        };
        const file = path.join(dir, "synthetic.cpuprofile");
        writeFileSync(file, JSON.stringify(profile));
        const summary = summarizeProfile(file);
        expect(summary.totalMs).toBe(10);
        expect(summary.busyMs).toBe(6);
        const hubPath = path.join("server", "broker", "hub.ts");
        expect(summary.byOwner).toEqual([
            { name: "ws", ms: 5, share: 5 / 6 },
            { name: hubPath, ms: 1, share: 1 / 6 }
        ]);
        expect(summary.topSelf[0]).toEqual({ name: "send — ws:20", ms: 5, share: 5 / 6 });
        // publish is on the stack of every busy sample; the recursive send counts once per sample.
        expect(summary.topInclusive).toEqual([
            { name: `publish — ${hubPath}:10`, ms: 6, share: 1 },
            { name: "send — ws:20", ms: 5, share: 5 / 6 }
        ]);
        expect(summary.ownersInclusive).toEqual([
            { name: hubPath, ms: 6, share: 1 },
            { name: "ws", ms: 5, share: 5 / 6 }
        ]);
    });
});
