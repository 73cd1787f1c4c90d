import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ListenError } from "../../utils/errors";
import type { ClientConfig } from "../clientConfig";
import { createConfigLoader, type ConfigLoaderHooks } from "../configLoader";

const CONFIG: ClientConfig = { key: "k", cluster: "local" };
const unreachable = (retryAfterMs?: number) =>
    new ListenError("key-unreachable", "Cannot reach the server", { retryable: true, retryAfterMs });
const notFound = () => new ListenError("key-status", "HTTP 404", { status: 404 });

/** A loader whose fetches answer from `answers` in turn (the last one repeats). */
function setup(answers: Array<ClientConfig | ListenError>, needed = () => true) {
    const fetched: number[] = [];
    const configs: ClientConfig[] = [];
    let problems = 0;
    const hooks: ConfigLoaderHooks = {
        fetchConfig: () => {
            fetched.push(Date.now());
            const answer = answers[Math.min(fetched.length, answers.length) - 1];
            return answer instanceof ListenError ? Promise.reject(answer) : Promise.resolve(answer);
        },
        beforeScheduledLoad: needed,
        onConfig: config => configs.push(config),
        onProblem: () => {
            problems++;
        }
    };
    const loader = createConfigLoader(hooks);
    return {
        loader,
        fetched,
        configs,
        get problems() {
            return problems;
        }
    };
}

describe("createConfigLoader", () => {
    beforeEach(() => {
        vi.useFakeTimers({ now: 0 });
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("loads the configuration and hands it on", async () => {
        const context = setup([CONFIG]);
        context.loader.load();
        await vi.advanceTimersByTimeAsync(0);
        expect(context.configs).toEqual([CONFIG]);
        expect(context.loader.problem).toBeUndefined();
        expect(context.loader.nextLoadInMs).toBeUndefined();
    });

    it("retries a temporary failure with backoff (1 s, 2 s …) and reports each failure", async () => {
        const context = setup([unreachable(), unreachable(), CONFIG]);
        context.loader.load();
        await vi.advanceTimersByTimeAsync(0);
        expect(context.loader.problem).toMatchObject({
            state: "retrying",
            retryInMs: 1000,
            error: { kind: "key-unreachable" }
        });
        expect(context.loader.nextLoadInMs).toBe(1000);
        expect(context.problems).toBe(1);

        await vi.advanceTimersByTimeAsync(1000);
        expect(context.loader.problem).toMatchObject({ state: "retrying", retryInMs: 2000 });
        await vi.advanceTimersByTimeAsync(2000);
        expect(context.fetched).toEqual([0, 1000, 3000]);
        expect(context.configs).toEqual([CONFIG]);
        expect(context.loader.problem).toBeUndefined();
        expect(vi.getTimerCount()).toBe(0);
    });

    it("honours the server's Retry-After", async () => {
        const context = setup([unreachable(5000), CONFIG]);
        context.loader.load();
        await vi.advanceTimersByTimeAsync(0);
        expect(context.loader.nextLoadInMs).toBe(5000);
    });

    it("does not retry a failure that needs a fix", async () => {
        const context = setup([notFound()]);
        context.loader.load();
        await vi.advanceTimersByTimeAsync(60_000);
        expect(context.fetched).toHaveLength(1);
        expect(context.loader.problem).toMatchObject({ state: "error", error: { kind: "key-status", status: 404 } });
        expect(vi.getTimerCount()).toBe(0);
    });

    it("load(delay) schedules a load and replaces the one scheduled before", async () => {
        const context = setup([CONFIG]);
        context.loader.load(500);
        context.loader.load(2000);
        expect(context.loader.nextLoadInMs).toBe(2000);
        expect(vi.getTimerCount()).toBe(1);
        await vi.advanceTimersByTimeAsync(2000);
        expect(context.fetched).toEqual([2000]);
    });

    it("skips a scheduled load when it is no longer needed", async () => {
        let needed = true;
        const context = setup([unreachable()], () => needed);
        context.loader.load();
        await vi.advanceTimersByTimeAsync(0);
        needed = false;
        await vi.advanceTimersByTimeAsync(60_000);
        expect(context.fetched).toHaveLength(1);
    });

    it("cancel() drops the scheduled load; stop() also ignores an answer under way", async () => {
        const context = setup([CONFIG]);
        context.loader.load(500);
        context.loader.cancel();
        expect(context.loader.nextLoadInMs).toBeUndefined();
        await vi.advanceTimersByTimeAsync(1000);
        expect(context.fetched).toHaveLength(0);

        context.loader.load();
        context.loader.stop();
        await vi.advanceTimersByTimeAsync(0);
        expect(context.fetched).toHaveLength(1);
        expect(context.configs).toEqual([]);
        context.loader.load();
        expect(context.fetched).toHaveLength(1);
    });
});
