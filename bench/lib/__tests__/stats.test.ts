import { describe, expect, it } from "vitest";
import { bytes, count, median, ms, percent, percentile, ratio, summarize, times } from "../stats";

describe("percentile (nearest rank)", () => {
    const sorted = Array.from({ length: 100 }, (_x, index) => index + 1);

    it("picks the value at rank ceil(p/100 * n)", () => {
        expect(percentile(sorted, 50)).toBe(50);
        expect(percentile(sorted, 95)).toBe(95);
        expect(percentile(sorted, 99)).toBe(99);
        expect(percentile(sorted, 100)).toBe(100);
        expect(percentile([3, 7, 9], 50)).toBe(7);
        expect(percentile([3, 7, 9], 99)).toBe(9);
    });

    it("clamps to the first value and is NaN for no values", () => {
        expect(percentile(sorted, 0)).toBe(1);
        expect(percentile([], 50)).toBeNaN();
    });
});

describe("summarize", () => {
    it("sorts a copy and reports count, min, p50, p95, p99, max and mean", () => {
        const values = [5, 1, 4, 2, 3];
        const summary = summarize(values);
        expect(values).toEqual([5, 1, 4, 2, 3]);
        expect(summary).toEqual({ count: 5, min: 1, p50: 3, p95: 5, p99: 5, max: 5, mean: 3 });
        expect(median([10, 30, 20, 40])).toBe(20);
    });

    it("gives NaN figures for an empty sample", () => {
        const summary = summarize([]);
        expect(summary.count).toBe(0);
        expect(summary.p50).toBeNaN();
        expect(summary.mean).toBeNaN();
    });
});

describe("formatting", () => {
    it("formats ratios, milliseconds, counts, shares and sizes", () => {
        expect(ratio(3, 2)).toBe(1.5);
        expect(ratio(1, 0)).toBeNaN();
        expect(times(1.234)).toBe("1.23x");
        expect(times(NaN)).toBe("n/a");
        expect(ms(1.234)).toBe("1.23");
        expect(ms(12.34)).toBe("12.3");
        expect(ms(123.4)).toBe("123");
        expect(count(12345.6)).toBe("12,346");
        expect(percent(0.8)).toBe("80 %");
        expect(bytes(512)).toBe("512 B");
        expect(bytes(6 * 1024)).toBe("6.0 KB");
        expect(bytes(300 * 1024 * 1024)).toBe("300.0 MB");
    });
});
