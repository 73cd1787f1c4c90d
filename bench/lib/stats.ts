/** Percentiles and small numeric helpers for the bench. */

export interface Summary {
    count: number;
    min: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
    mean: number;
}

/** Nearest-rank percentile of an ascending array (`p` in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
    if (sorted.length === 0) {
        return NaN;
    }
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values: readonly number[]): Summary {
    const sorted = [...values].sort((a, b) => a - b);
    const sum = sorted.reduce((total, value) => total + value, 0);
    return {
        count: sorted.length,
        min: sorted.length > 0 ? sorted[0] : NaN,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
        mean: sorted.length > 0 ? sum / sorted.length : NaN
    };
}

export function median(values: readonly number[]): number {
    return percentile(
        [...values].sort((a, b) => a - b),
        50
    );
}

/** `a / b`, NaN when b is 0 or either is not finite. */
export function ratio(a: number, b: number): number {
    return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN;
}

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
    if (!Number.isFinite(value)) {
        return "n/a";
    }
    return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

export function times(value: number): string {
    return Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a";
}

export function percent(value: number): string {
    return Number.isFinite(value) ? `${(value * 100).toFixed(0)} %` : "n/a";
}

/** 12345 -> "12,345"; large rates keep no decimals. */
export function count(value: number): string {
    return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

export function bytes(value: number): string {
    if (!Number.isFinite(value)) {
        return "n/a";
    }
    if (Math.abs(value) >= 1024 * 1024) {
        return `${(value / 1024 / 1024).toFixed(1)} MB`;
    }
    if (Math.abs(value) >= 1024) {
        return `${(value / 1024).toFixed(1)} KB`;
    }
    return `${Math.round(value)} B`;
}

/** Wall-clock milliseconds, high resolution. */
export function now(): number {
    return performance.now();
}
