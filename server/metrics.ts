/**
 * The server's Prometheus metrics (prom-client) and the operator console's figures, in one place. Made only when
 * METRICS_TOKEN is set (server/app.ts); otherwise nothing is counted and nothing is wired.
 *
 * Instrumentation sits where things happen, as one call each: the embedded broker's observer (`broker`:
 * connections, subscriptions, deliveries, protocol errors), the notify trigger (`wrapTrigger`), the Mendix access
 * client (`wrapAccess`), and the answers of the API routes (`observeApi`: auth outcomes, rate-limit refusals).
 * Catch-up (`catchupRun`) and a Redis adapter (`redisAdapter`) call their named functions.
 *
 * Bounded cardinality: no label ever carries a user, a topic, a channel, an action or anything a page or a caller
 * chooses. Every label value comes from a fixed list below (unknown values count as "other").
 * The console's list of recent notifications (channel, action, size, receivers; never the payload) keeps at most
 * `MAX_RECENT` entries.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { RequestHandler } from "express";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { PRESENCE_PREFIX, PRIVATE_PREFIX, describeChannel } from "../protocol/index.js";
import type { Broker, BrokerObserver } from "./broker/index.js";
import type { Catchup } from "./catchup.js";
import type { AccessClient, AccessResult } from "./mendix/access.js";
import type { Trigger, TriggerItem } from "./trigger.js";

/**
 * Kinds of channel (`kind` label): protocol's channel kinds (`describeChannel`), with `private` for object channels
 * (the label's value since before users and broadcasts), and `public` (only with BROKER_PUBLIC_CHANNELS).
 */
export const CHANNEL_KINDS = ["private", "presence", "user", "broadcast", "public"] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
/** The kinds the broker has without BROKER_PUBLIC_CHANNELS: their series exist from the start (at 0). */
const EXISTING_KINDS: readonly ChannelKind[] = ["private", "presence", "user", "broadcast"];

/** Close codes with a label of their own; any other code counts as "other". */
export const CLOSE_CODES = [1000, 1001, 1005, 1006, 1009, 1011, 4001, 4007, 4100, 4200, 4201] as const;
/** Codes of `pusher:error` frames the broker sends (./broker/codes.ts); any other counts as "other". */
export const BROKER_ERROR_CODES = [4001, 4007, 4100, 4300, 4301, 4302, 4303] as const;
/** `type` of a refused subscription (./broker/client-messages.ts). */
export const SUBSCRIPTION_ERROR_TYPES = ["AuthError", "InvalidChannel", "InvalidChannelData", "LimitReached"] as const;
/** Outcomes of POST /rest/pusher/auth, by the status it answered. */
export const AUTH_OUTCOMES = [
    "signed",
    "unauthenticated",
    "forbidden",
    "rate_limited",
    "unavailable",
    "invalid",
    "error"
] as const;
export type AuthOutcome = (typeof AUTH_OUTCOMES)[number];
export const ACCESS_OUTCOMES = ["allowed", "not_authenticated", "forbidden", "unavailable"] as const;
/** The API routes, by path. */
export const API_ROUTES = {
    auth: "/rest/pusher/auth",
    notify: "/rest/pusher/notify",
    notify_batch: "/rest/pusher/notify/batch"
} as const;
export type ApiRoute = keyof typeof API_ROUTES;
export const NOTIFY_ROUTES = ["single", "batch"] as const;
export type NotifyRoute = (typeof NOTIFY_ROUTES)[number];
/** Results of a catch-up run (an authorization with a cursor): what the widget had missed. */
export const CATCHUP_RESULTS = ["missed", "nothing_missed", "lost"] as const;
export type CatchupResult = (typeof CATCHUP_RESULTS)[number];
const REFUSAL_REASONS = { descriptors: "descriptors", connections: "connections", perAddress: "per_address" } as const;

/** Recent notifications the console shows. */
export const MAX_RECENT = 100;
/** Channels the console lists as the busiest. */
export const BUSIEST_CHANNELS = 10;

/** The kind of a channel (protocol/channel-kind.ts); a channel this server would not sign counts by its prefix. */
export function channelKind(channel: string): ChannelKind {
    const described = describeChannel(channel);
    if (described !== null) {
        return described.kind === "object" ? "private" : described.kind;
    }
    if (channel.startsWith(PRIVATE_PREFIX)) {
        return "private";
    }
    return channel.startsWith(PRESENCE_PREFIX) ? "presence" : "public";
}

export function authOutcome(status: number): AuthOutcome {
    if (status >= 200 && status < 300) {
        return "signed";
    }
    switch (status) {
        case 401:
            return "unauthenticated";
        case 403:
            return "forbidden";
        case 429:
            return "rate_limited";
        case 503:
            return "unavailable";
    }
    return status >= 500 ? "error" : "invalid";
}

function known(value: number, list: readonly number[]): string {
    return list.includes(value) ? String(value) : "other";
}

/** One entry of the console's list: what went out, never the payload. */
export interface RecentNotification {
    /** ISO 8601. */
    time: string;
    channel: string;
    action: string;
    /** Bytes of the payload JSON. */
    bytes: number;
    /** Sockets that received it (embedded broker); null when Pusher delivers and does not say. */
    receivers: number | null;
}

/** What the operator console shows (GET /console/data.json). */
export interface ConsoleSnapshot {
    time: string;
    uptimeSeconds: number;
    broker: "embedded" | "external";
    connections: {
        current: number | null;
        limit: number | null;
        opened: number;
        closed: Record<string, number>;
        refused: Record<string, number>;
    } | null;
    subscriptions: Record<string, number> | null;
    channels: Record<string, number> | null;
    busiestChannels: Array<{ channel: string; subscribers: number }>;
    notifications: { single: number; batch: number; failed: number; payloadBytes: number; frames: number | null };
    auth: Record<string, number>;
    accessCheck: {
        checks: number;
        byOutcome: Record<string, number>;
        averageSeconds: number | null;
        running: number | null;
        waiting: number | null;
    };
    rateLimited: Record<string, number>;
    brokerErrors: Record<string, number>;
    catchupRuns: Record<string, number>;
    process: { rssBytes: number; heapUsedBytes: number; eventLoopLagSeconds: number | null };
    recent: RecentNotification[];
}

export interface MetricsOptions {
    /** "embedded": the broker in this process reports its connections and deliveries. */
    broker: "embedded" | "external";
}

export interface Metrics {
    readonly registry: Registry;
    /** For `createBroker({ observer })`. */
    readonly broker: BrokerObserver;
    /** Read-only figures read at scrape time: the broker's limits, the access-check queue, the catch-up store. */
    attach(sources: { broker?: Broker; access?: AccessClient; catchup?: Catchup }): void;
    /** Counts what the notify routes hand to the broker (count, failures, time, payload sizes). */
    wrapTrigger(trigger: Trigger): Trigger;
    /** Times every access check, by outcome. */
    wrapAccess(access: AccessClient): AccessClient;
    /** Middleware before the API routes: auth outcomes and rate-limit refusals, from the answers' status. */
    readonly observeApi: RequestHandler;
    /** Catch-up: one authorization with a cursor; `replayed` notifications went back in its answer. */
    catchupRun(result: CatchupResult, replayed?: number): void;
    /** A Redis adapter's health (the gauge appears with the first call). */
    redisAdapter(up: boolean): void;
    /** The Prometheus text format. */
    text(): Promise<string>;
    readonly contentType: string;
    /** The console's figures (event-loop lag p99 since the previous snapshot). */
    snapshot(): Promise<ConsoleSnapshot>;
    /** Stops the console's event-loop delay monitor. */
    close(): void;
}

let processRegistry: Registry | undefined;

/** The process defaults (CPU, RSS, heap, event-loop lag, GC, handles), once per process: they are the process's. */
function processMetrics(): Registry {
    if (processRegistry === undefined) {
        processRegistry = new Registry();
        collectDefaultMetrics({ register: processRegistry });
    }
    return processRegistry;
}

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BYTES_BUCKETS = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 10240];
const RECEIVER_BUCKETS = [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];

function seconds(since: bigint): number {
    return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Sum of a metric's values per value of one label (histograms: their `_count`). */
async function byLabel(metric: Counter | Gauge | Histogram, label: string): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    const { values } = await metric.get();
    for (const value of values) {
        const name = (value as { metricName?: string }).metricName;
        if (name !== undefined && !name.endsWith("_count")) {
            continue;
        }
        const key = String(value.labels[label] ?? "");
        result[key] = (result[key] ?? 0) + value.value;
    }
    return result;
}

async function total(metric: Counter | Gauge, filter: Record<string, string> = {}): Promise<number> {
    const { values } = await metric.get();
    return values
        .filter(value => Object.entries(filter).every(([key, wanted]) => String(value.labels[key]) === wanted))
        .reduce((sum, value) => sum + value.value, 0);
}

export function createMetrics(options: MetricsOptions): Metrics {
    const registry = new Registry();
    const registers = [registry];
    const embedded = options.broker === "embedded";
    const started = Date.now();
    let sources: { broker?: Broker; access?: AccessClient; catchup?: Catchup } = {};

    // Connections and subscriptions: the embedded broker only (Pusher Channels has its own dashboard).
    const connections = embedded
        ? new Gauge({ name: "notifylisten_connections", help: "Open WebSockets of the embedded broker.", registers })
        : undefined;
    if (embedded) {
        new Gauge({
            name: "notifylisten_connections_limit",
            help: "Most WebSockets the embedded broker accepts (BROKER_MAX_CONNECTIONS, lowered below the open-files limit).",
            registers,
            collect() {
                const capacity = sources.broker?.capacity();
                if (capacity !== undefined) {
                    this.set(Math.min(capacity.maxConnections, capacity.socketLimit ?? Infinity));
                }
            }
        });
    }
    const opened = embedded
        ? new Counter({
              name: "notifylisten_connections_opened_total",
              help: "WebSockets established by the embedded broker.",
              registers
          })
        : undefined;
    const closed = embedded
        ? new Counter({
              name: "notifylisten_connections_closed_total",
              help: "Established WebSockets that closed, by close code (1000/1001 normal, 1005 no code, 1006 cut, 4200 restart, 4201 no pong; other codes: other).",
              labelNames: ["code"] as const,
              registers
          })
        : undefined;
    const refused = embedded
        ? new Counter({
              name: "notifylisten_connections_refused_total",
              help: "WebSockets refused with 4100, by the limit reached (connections, per_address, descriptors).",
              labelNames: ["reason"] as const,
              registers
          })
        : undefined;
    const subscriptions = embedded
        ? new Gauge({
              name: "notifylisten_subscriptions",
              help: "Current subscriptions (one per socket and channel), by channel kind.",
              labelNames: ["kind"] as const,
              registers
          })
        : undefined;
    const subscribed = embedded
        ? new Counter({
              name: "notifylisten_subscriptions_total",
              help: "Subscriptions accepted, by channel kind.",
              labelNames: ["kind"] as const,
              registers
          })
        : undefined;
    const subscriptionsRefused = embedded
        ? new Counter({
              name: "notifylisten_subscriptions_refused_total",
              help: "Subscriptions the embedded broker refused, by pusher:subscription_error type (AuthError: bad or missing signature, LimitReached: BROKER_MAX_SUBSCRIPTIONS).",
              labelNames: ["type"] as const,
              registers
          })
        : undefined;
    const channels = embedded
        ? new Gauge({
              name: "notifylisten_channels",
              help: "Channels with at least one subscriber, by channel kind.",
              labelNames: ["kind"] as const,
              registers
          })
        : undefined;
    const brokerEvents = embedded
        ? new Counter({
              name: "notifylisten_broker_events_total",
              help: "Events the embedded broker published, one per channel (from notify, its HTTP events API and catch-up resends).",
              registers
          })
        : undefined;
    const frames = embedded
        ? new Counter({
              name: "notifylisten_frames_delivered_total",
              help: "Event frames the embedded broker sent to sockets (one per socket and channel).",
              registers
          })
        : undefined;
    const receivers = embedded
        ? new Histogram({
              name: "notifylisten_event_receivers",
              help: "Sockets that received each published event.",
              buckets: RECEIVER_BUCKETS,
              registers
          })
        : undefined;
    const brokerErrors = embedded
        ? new Counter({
              name: "notifylisten_broker_errors_total",
              help: "pusher:error frames the embedded broker sent, by Pusher code (4001 unknown key, 4007 protocol, 4100 over capacity, 4300 invalid message, 4301 rate limited, 4302 too large, 4303 client event refused).",
              labelNames: ["code"] as const,
              registers
          })
        : undefined;

    // Notifications, auth, access checks, rate limits: every broker.
    const notifications = new Counter({
        name: "notifylisten_notifications_total",
        help: "Notifications the notify routes handed to the broker, by route (single: /notify, batch: /notify/batch).",
        labelNames: ["route"] as const,
        registers
    });
    const notificationsFailed = new Counter({
        name: "notifylisten_notifications_failed_total",
        help: "Notifications the broker did not accept (502 broker_error), by route.",
        labelNames: ["route"] as const,
        registers
    });
    const notifyDuration = new Histogram({
        name: "notifylisten_notify_duration_seconds",
        help: "Time to hand a notify request's notifications to the broker (retries included), by route.",
        labelNames: ["route"] as const,
        buckets: SECONDS_BUCKETS,
        registers
    });
    const payloadBytes = new Histogram({
        name: "notifylisten_notification_payload_bytes",
        help: "Size of each notification's payload JSON as notify made it (catch-up adds its seq and epoch).",
        buckets: BYTES_BUCKETS,
        registers
    });
    const auth = new Counter({
        name: "notifylisten_auth_total",
        help: "Answers of POST /rest/pusher/auth by outcome (signed 200, unauthenticated 401, forbidden 403, rate_limited 429, unavailable 503, invalid other 4xx, error other 5xx).",
        labelNames: ["outcome"] as const,
        registers
    });
    const accessDuration = new Histogram({
        name: "notifylisten_access_check_duration_seconds",
        help: "Duration of the Mendix access check (queueing included), by outcome (allowed, not_authenticated, forbidden, unavailable).",
        labelNames: ["outcome"] as const,
        buckets: SECONDS_BUCKETS,
        registers
    });
    new Gauge({
        name: "notifylisten_access_checks_running",
        help: "Access checks running now (at most MENDIX_MAX_CONCURRENT).",
        registers,
        collect() {
            const stats = sources.access?.stats();
            if (stats !== undefined) {
                this.set(stats.running);
            }
        }
    });
    new Gauge({
        name: "notifylisten_access_checks_waiting",
        help: "Access checks waiting for a free slot (at most MENDIX_QUEUE_LIMIT).",
        registers,
        collect() {
            const stats = sources.access?.stats();
            if (stats !== undefined) {
                this.set(stats.waiting);
            }
        }
    });
    const rateLimited = new Counter({
        name: "notifylisten_rate_limited_total",
        help: "Requests refused with 429 by a rate limit, by route (auth, notify, notify_batch).",
        labelNames: ["route"] as const,
        registers
    });
    const catchupRuns = new Counter({
        name: "notifylisten_catchup_runs_total",
        help: "Catch-up runs (an authorization of a widget subscribing again), by result (missed, nothing_missed, lost).",
        labelNames: ["result"] as const,
        registers
    });
    const catchupReplayed = new Counter({
        name: "notifylisten_catchup_replayed_total",
        help: "Missed notifications sent back in catch-up answers.",
        registers
    });
    new Gauge({
        name: "notifylisten_catchup_kept_notifications",
        help: "Notifications kept for widgets that subscribe again (CATCHUP_*).",
        registers,
        collect() {
            const stats = sources.catchup?.stats();
            if (stats !== undefined) {
                this.set(stats.notifications);
            }
        }
    });
    new Gauge({
        name: "notifylisten_catchup_kept_bytes",
        help: "Bytes of kept notifications, counted against CATCHUP_MAX_BYTES.",
        registers,
        collect() {
            const stats = sources.catchup?.stats();
            if (stats !== undefined) {
                this.set(stats.bytes);
            }
        }
    });
    let redisUp: Gauge | undefined;

    // Every label value that exists starts at 0, so rate() and alerts see the series from the first scrape.
    const kindChildren = new Map<
        ChannelKind,
        { subscriptions?: Gauge.Internal<"kind">; channels?: Gauge.Internal<"kind">; subscribed?: Counter.Internal }
    >();
    for (const kind of CHANNEL_KINDS) {
        kindChildren.set(kind, {
            subscriptions: subscriptions?.labels({ kind }),
            channels: channels?.labels({ kind }),
            subscribed: subscribed?.labels({ kind })
        });
    }
    for (const kind of EXISTING_KINDS) {
        subscriptions?.set({ kind }, 0);
        channels?.set({ kind }, 0);
        subscribed?.inc({ kind }, 0);
    }
    for (const code of [1000, 1001, 1005, 1006, 4200, 4201]) {
        closed?.inc({ code: String(code) }, 0);
    }
    for (const reason of Object.values(REFUSAL_REASONS)) {
        refused?.inc({ reason }, 0);
    }
    for (const type of SUBSCRIPTION_ERROR_TYPES) {
        subscriptionsRefused?.inc({ type }, 0);
    }
    for (const code of BROKER_ERROR_CODES) {
        brokerErrors?.inc({ code: String(code) }, 0);
    }
    for (const route of NOTIFY_ROUTES) {
        notifications.inc({ route }, 0);
        notificationsFailed.inc({ route }, 0);
        notifyDuration.zero({ route });
    }
    for (const outcome of AUTH_OUTCOMES) {
        auth.inc({ outcome }, 0);
    }
    for (const outcome of ACCESS_OUTCOMES) {
        accessDuration.zero({ outcome });
    }
    for (const route of Object.keys(API_ROUTES)) {
        rateLimited.inc({ route }, 0);
    }
    for (const result of CATCHUP_RESULTS) {
        catchupRuns.inc({ result }, 0);
    }

    // A ring of the last MAX_RECENT notifications; times as epoch ms, formatted when the console asks.
    const recent: Array<Omit<RecentNotification, "time"> & { at: number }> = [];
    let next = 0;
    const remember = (at: number, channel: string, action: string, bytes: number, sent: number | null): void => {
        recent[next] = { at, channel, action, bytes, receivers: sent };
        next = (next + 1) % MAX_RECENT;
    };
    const newestFirst = (): RecentNotification[] => {
        const ordered = [...recent.slice(next), ...recent.slice(0, next)].reverse();
        return ordered.map(({ at, ...entry }) => ({ time: new Date(at).toISOString(), ...entry }));
    };

    const brokerObserver: BrokerObserver = {
        connectionOpened() {
            connections?.inc();
            opened?.inc();
        },
        connectionClosed(code) {
            connections?.dec();
            closed?.inc({ code: known(code, CLOSE_CODES) });
        },
        connectionRefused(reason) {
            refused?.inc({ reason: REFUSAL_REASONS[reason] ?? "other" });
        },
        errorSent(code) {
            brokerErrors?.inc({ code: known(code, BROKER_ERROR_CODES) });
        },
        subscriptionRefused(type) {
            subscriptionsRefused?.inc({
                type: (SUBSCRIPTION_ERROR_TYPES as readonly string[]).includes(type) ? type : "other"
            });
        },
        subscribed(channel, first) {
            const children = kindChildren.get(channelKind(channel));
            children?.subscriptions?.inc();
            children?.subscribed?.inc();
            if (first) {
                children?.channels?.inc();
            }
        },
        unsubscribed(channel, last) {
            const children = kindChildren.get(channelKind(channel));
            children?.subscriptions?.dec();
            if (last) {
                children?.channels?.dec();
            }
        },
        published(channel, event, bytes, sent) {
            brokerEvents?.inc();
            frames?.inc(sent);
            receivers?.observe(sent);
            remember(Date.now(), channel, event, bytes, sent);
        }
    };

    const handedOver = (route: NotifyRoute, items: readonly TriggerItem[], count: number, since: bigint): void => {
        notifyDuration.observe({ route }, seconds(since));
        notifications.inc({ route }, count);
        if (count < items.length) {
            notificationsFailed.inc({ route }, items.length - count);
        }
        const at = Date.now();
        for (let index = 0; index < items.length; index++) {
            const item = items[index];
            const bytes = Buffer.byteLength(item.data, "utf8");
            payloadBytes.observe(bytes);
            // With the embedded broker the console lists what it delivered (`published`), receivers included.
            if (!embedded && index < count) {
                remember(at, item.channel, item.action, bytes, null);
            }
        }
    };

    /** How many of a failed batch went out (`details.triggered` of the 502), else 0. */
    const triggeredBefore = (error: unknown): number => {
        const details = (error as { details?: { triggered?: unknown } } | null)?.details;
        return typeof details?.triggered === "number" ? details.triggered : 0;
    };

    const observeApi: RequestHandler = (req, res, next) => {
        if (req.method !== "POST") {
            next();
            return;
        }
        const path = req.path.toLowerCase().replace(/\/$/, "");
        const route = (Object.keys(API_ROUTES) as ApiRoute[]).find(name => API_ROUTES[name] === path);
        if (route !== undefined) {
            res.once("finish", () => {
                if (res.statusCode === 429) {
                    rateLimited.inc({ route });
                }
                if (route === "auth") {
                    auth.inc({ outcome: authOutcome(res.statusCode) });
                }
            });
        }
        next();
    };

    let loopDelay: IntervalHistogram | undefined;
    const snapshot = async (): Promise<ConsoleSnapshot> => {
        const memory = process.memoryUsage();
        // Its own delay monitor: reading prom-client's would reset the window a Prometheus scrape reports.
        if (loopDelay === undefined) {
            loopDelay = monitorEventLoopDelay({ resolution: 10 });
            loopDelay.enable();
        }
        const lagValue = loopDelay.count > 0 ? loopDelay.percentile(99) / 1e9 : undefined;
        loopDelay.reset();
        const accessStats = sources.access?.stats();
        const accessCount = await byLabel(accessDuration, "outcome");
        const accessSum = (await accessDuration.get()).values
            .filter(value => (value as { metricName?: string }).metricName?.endsWith("_sum"))
            .reduce((sum, value) => sum + value.value, 0);
        const checks = Object.values(accessCount).reduce((sum, value) => sum + value, 0);
        const capacity = sources.broker?.capacity();
        return {
            time: new Date().toISOString(),
            uptimeSeconds: Math.round((Date.now() - started) / 1000),
            broker: options.broker,
            connections:
                connections === undefined
                    ? null
                    : {
                          current: await total(connections),
                          limit:
                              capacity === undefined
                                  ? null
                                  : Math.min(capacity.maxConnections, capacity.socketLimit ?? Infinity),
                          opened: opened === undefined ? 0 : await total(opened),
                          closed: closed === undefined ? {} : await byLabel(closed, "code"),
                          refused: refused === undefined ? {} : await byLabel(refused, "reason")
                      },
            subscriptions: subscriptions === undefined ? null : await byLabel(subscriptions, "kind"),
            channels: channels === undefined ? null : await byLabel(channels, "kind"),
            busiestChannels: sources.broker?.busiestChannels(BUSIEST_CHANNELS) ?? [],
            notifications: {
                single: await total(notifications, { route: "single" }),
                batch: await total(notifications, { route: "batch" }),
                failed: await total(notificationsFailed),
                payloadBytes: (await payloadBytes.get()).values
                    .filter(value => (value as { metricName?: string }).metricName?.endsWith("_sum"))
                    .reduce((sum, value) => sum + value.value, 0),
                frames: frames === undefined ? null : await total(frames)
            },
            auth: await byLabel(auth, "outcome"),
            accessCheck: {
                checks,
                byOutcome: accessCount,
                averageSeconds: checks === 0 ? null : accessSum / checks,
                running: accessStats?.running ?? null,
                waiting: accessStats?.waiting ?? null
            },
            rateLimited: await byLabel(rateLimited, "route"),
            brokerErrors: brokerErrors === undefined ? {} : await byLabel(brokerErrors, "code"),
            catchupRuns: await byLabel(catchupRuns, "result"),
            process: {
                rssBytes: memory.rss,
                heapUsedBytes: memory.heapUsed,
                eventLoopLagSeconds: lagValue ?? null
            },
            recent: newestFirst()
        };
    };

    const merged = Registry.merge([registry, processMetrics()]);

    return {
        registry,
        broker: brokerObserver,
        attach(next) {
            sources = { ...sources, ...next };
        },
        wrapTrigger(trigger) {
            return {
                kind: trigger.kind,
                async one(item, source) {
                    const since = process.hrtime.bigint();
                    try {
                        await trigger.one(item, source);
                    } catch (error) {
                        handedOver("single", [item], 0, since);
                        throw error;
                    }
                    handedOver("single", [item], 1, since);
                },
                async batch(items, source) {
                    const since = process.hrtime.bigint();
                    let count: number;
                    try {
                        count = await trigger.batch(items, source);
                    } catch (error) {
                        handedOver("batch", items, triggeredBefore(error), since);
                        throw error;
                    }
                    handedOver("batch", items, count, since);
                    return count;
                }
            };
        },
        wrapAccess(access) {
            return {
                ...access,
                async check(request) {
                    const since = process.hrtime.bigint();
                    const result: AccessResult = await access.check(request);
                    accessDuration.observe({ outcome: result.outcome }, seconds(since));
                    return result;
                }
            };
        },
        observeApi,
        catchupRun(result, replayed = 0) {
            catchupRuns.inc({ result: (CATCHUP_RESULTS as readonly string[]).includes(result) ? result : "other" });
            if (replayed > 0) {
                catchupReplayed.inc(replayed);
            }
        },
        redisAdapter(up) {
            redisUp ??= new Gauge({
                name: "notifylisten_redis_up",
                help: "1 while the Redis adapter is connected, else 0.",
                registers: [registry, merged]
            });
            redisUp.set(up ? 1 : 0);
        },
        text: () => merged.metrics(),
        contentType: merged.contentType,
        snapshot,
        close() {
            loopDelay?.disable();
        }
    };
}
