import { describe, expect, it } from "vitest";
import { descriptorReserve, parseProcLimits, readOpenFilesLimit, socketBudget } from "../descriptors";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe("open-files budget", () => {
    it("reads the soft limit from /proc/<pid>/limits", () => {
        expect(parseProcLimits(LIMITS)).toBe(1024);
        expect(parseProcLimits(LIMITS.replace("1024 ", "unlimited"))).toBeUndefined();
        expect(parseProcLimits("")).toBeUndefined();
    });

    it("reads this process's limit where the platform tells it", () => {
        const limit = readOpenFilesLimit();
        if (process.platform === "linux") {
            expect(limit).toBeGreaterThan(0);
        }
    });

    it("keeps 10 %, at least 128, of the descriptors for HTTP and the process", () => {
        expect(descriptorReserve(300)).toBe(128);
        expect(descriptorReserve(1024)).toBe(128);
        expect(descriptorReserve(65_536)).toBe(6_554);
        expect(socketBudget(1024)).toBe(896);
        expect(socketBudget(300)).toBe(172);
        expect(socketBudget(100)).toBe(0);
        expect(socketBudget(undefined)).toBeUndefined();
    });
});
