/**
 * "Pages" for reliability runs in Node: each is the widget's own connection code (src/connection, the page-wide
 * connection manager a browser page has) with the real pusher-js, listening to some channels the way Listen widgets
 * do. It records every run (a notification passed to the widget, live or caught up), every interruption and the
 * widget's connection events, so a run can count lost and duplicated runs. Authorization goes through the relay path
 * (Bearer API key): the Mendix access check is not what these runs test.
 */
import { WebSocket as NodeWebSocket } from "ws";
import type { StampedPayload } from "../../protocol";
import { createConnectionManager, type ConnectionManager } from "../../src/connection/manager";
import type { Reconnected, SubscriptionStatus } from "../../src/connection/status";
import { resolveServer } from "../../src/utils/endpoints";

export interface PageRun {
    channel: string;
    action: string;
    /** The notification's `data`, as the sender chose it (runs use it to tell notifications apart). */
    data: string;
    seq: number;
    at: number;
}

export interface WidgetPage {
    readonly runs: PageRun[];
    /** On connection lost per channel. */
    readonly lost: string[];
    readonly reconnected: Array<Reconnected & { channel: string }>;
    /** Per channel, the times it was not subscribed: [from, to] (to undefined while still down). */
    readonly down: Map<string, Array<[number, number | undefined]>>;
    /** Channels subscribed right now. */
    subscribed(): number;
    close(): void;
}

// The widget ships pusher-js's worker build, which reads `self` and opens the global WebSocket of a browser or a
// worker; Node 20 has neither, so these pages give it both (ws is the WebSocket client the other Node tests use).
const browserLike = globalThis as { self?: unknown; WebSocket?: unknown };
browserLike.self ??= globalThis;
browserLike.WebSocket ??= NodeWebSocket;

/** A page of widgets on `channels`, connected to the server at `serverUrl` (a proxy in front of it, say). */
export function openWidgetPage(
    serverUrl: string,
    channels: readonly string[],
    authorization: Record<string, string>
): WidgetPage {
    const resolved = resolveServer(serverUrl, serverUrl);
    if (!resolved.ok) {
        throw new Error(resolved.message);
    }
    const manager: ConnectionManager = createConnectionManager({
        fetch: (input, init = {}) =>
            fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), ...authorization } }),
        getCsrfToken: () => undefined
    });
    const page: WidgetPage = {
        runs: [],
        lost: [],
        reconnected: [],
        down: new Map(),
        subscribed: () => [...states.values()].filter(state => state === "subscribed").length,
        close: () => manager.close()
    };
    const states = new Map<string, SubscriptionStatus["state"]>();
    for (const channel of channels) {
        page.down.set(channel, [[Date.now(), undefined]]);
        manager.subscribe(resolved.endpoints, channel, {
            onEvent: (action, data) => {
                const payload = data as StampedPayload;
                page.runs.push({ channel, action, data: payload.data ?? "", seq: payload.seq, at: Date.now() });
            },
            onStatus: status => {
                const previous = states.get(channel);
                states.set(channel, status.state);
                const windows = page.down.get(channel)!;
                const open = windows.at(-1);
                if (status.state === "subscribed" && open !== undefined && open[1] === undefined) {
                    open[1] = Date.now();
                } else if (status.state !== "subscribed" && previous === "subscribed") {
                    windows.push([Date.now(), undefined]);
                }
            },
            onLost: () => page.lost.push(channel),
            onReconnected: info => page.reconnected.push({ ...info, channel })
        });
    }
    return page;
}

export interface Sent {
    channel: string;
    action: string;
    data: string;
    at: number;
}

export interface RunCounts {
    /** Notifications run more than once by a page (each extra run counts). */
    duplicated: number;
    /**
     * Notifications that neither ran nor were followed by a later notification of the same action on the same
     * channel that ran (the catch-up runs the latest per action; live notifications must each run).
     */
    lost: number;
    /** Notifications sent while the page listened steadily that did not run themselves (no interruption near). */
    lostLive: number;
    /** Runs of notifications that were never sent (wrong channel, invented). */
    unexpected: number;
}

/**
 * Counts what `page` ran against what was `sent` to its channels. An interruption is the time a channel was not
 * subscribed, or a cut of the network (`cuts`, from its start: the page may notice a cut late) until the channel was
 * subscribed again; `margin` widens each on both sides: a notification sent that close to an interruption may reach
 * the page only through the catch-up.
 */
export function countRuns(
    page: WidgetPage,
    sent: readonly Sent[],
    margin: number,
    cuts: ReadonlyArray<[number, number]> = []
): RunCounts {
    const counts: RunCounts = { duplicated: 0, lost: 0, lostLive: 0, unexpected: 0 };
    const ran = new Map<string, number>();
    for (const run of page.runs) {
        const key = `${run.channel}|${run.data}`;
        ran.set(key, (ran.get(key) ?? 0) + 1);
    }
    const sentKeys = new Set<string>();
    const mine = sent.filter(notification => page.down.has(notification.channel));
    for (const [index, notification] of mine.entries()) {
        const key = `${notification.channel}|${notification.data}`;
        sentKeys.add(key);
        const times = ran.get(key) ?? 0;
        if (times > 1) {
            counts.duplicated += times - 1;
        }
        if (times > 0) {
            continue;
        }
        const later = mine
            .slice(index + 1)
            .some(
                other =>
                    other.channel === notification.channel &&
                    other.action === notification.action &&
                    (ran.get(`${other.channel}|${other.data}`) ?? 0) > 0
            );
        if (!later) {
            counts.lost++;
        }
        const windows = page.down.get(notification.channel)!;
        const interruptions = [
            ...windows,
            // A cut lasts until the channel's next subscription after the cut ended.
            ...cuts.map(([from, to]): [number, number | undefined] => [
                from,
                windows.find(([, back]) => back === undefined || back >= to)?.[1]
            ])
        ];
        const near = interruptions.some(
            ([from, to]) => notification.at >= from - margin && notification.at <= (to ?? Infinity) + margin
        );
        if (!near) {
            counts.lostLive++;
        }
    }
    for (const key of ran.keys()) {
        if (!sentKeys.has(key)) {
            counts.unexpected += ran.get(key)!;
        }
    }
    return counts;
}

/** `countRuns` over every page, added up, with the number of runs in all. */
export function countAllRuns(
    pages: readonly WidgetPage[],
    sent: readonly Sent[],
    margin: number,
    cuts: ReadonlyArray<[number, number]> = []
): RunCounts & { runs: number } {
    const totals = { duplicated: 0, lost: 0, lostLive: 0, unexpected: 0, runs: 0 };
    for (const page of pages) {
        const counts = countRuns(page, sent, margin, cuts);
        totals.duplicated += counts.duplicated;
        totals.lost += counts.lost;
        totals.lostLive += counts.lostLive;
        totals.unexpected += counts.unexpected;
        totals.runs += page.runs.length;
    }
    return totals;
}
