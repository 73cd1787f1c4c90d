// @ts-check
/**
 * The operator console's page script (served as a file: the page's CSP allows no inline script). Polls
 * GET /console/data.json (same origin; the browser resends the HTTP Basic credentials it asked for) and renders the
 * figures with DOM APIs only (textContent, never HTML from the answer). Rates are the difference between two polls.
 * Type-checked with `npx tsc -p server/console`.
 */

/**
 * @typedef {Record<string, number>} Counts
 * @typedef {{ time: string, channel: string, action: string, bytes: number, receivers: number | null }} Recent
 * @typedef {{
 *   time: string, uptimeSeconds: number, broker: "embedded" | "external",
 *   connections: { current: number | null, limit: number | null, opened: number, closed: Counts, refused: Counts } | null,
 *   subscriptions: Counts | null, channels: Counts | null,
 *   busiestChannels: Array<{ channel: string, subscribers: number }>,
 *   notifications: { single: number, batch: number, failed: number, payloadBytes: number, frames: number | null },
 *   auth: Counts,
 *   accessCheck: { checks: number, byOutcome: Counts, averageSeconds: number | null, running: number | null, waiting: number | null },
 *   rateLimited: Counts, brokerErrors: Counts, catchupRuns: Counts,
 *   process: { rssBytes: number, heapUsedBytes: number, eventLoopLagSeconds: number | null },
 *   recent: Recent[]
 * }} Snapshot
 */

const body = document.body;
const refreshMs = Number(body.dataset.refreshMs ?? "2000") || 2000;
const dataUrl = body.dataset.dataUrl ?? "/console/data.json";

/**
 * @param {string} tag
 * @param {{ className?: string, text?: string, testid?: string }} [options]
 * @param {Array<Node>} [children]
 * @returns {HTMLElement}
 */
function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = options.text;
    if (options.testid) node.dataset.testid = options.testid;
    for (const child of children) node.append(child);
    return node;
}

/** @param {number} value */
function integer(value) {
    return Math.round(value).toLocaleString("en-US");
}

/** @param {number} bytes */
function size(bytes) {
    if (bytes < 1024) return `${integer(bytes)} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** @param {number | null} value */
function ms(value) {
    return value === null ? "—" : `${(value * 1000).toFixed(value < 0.01 ? 1 : 0)} ms`;
}

/** @param {number} seconds */
function duration(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** @param {Counts} counts */
function sum(counts) {
    return Object.values(counts).reduce((total, value) => total + value, 0);
}

// ----- layout, built once -----------------------------------------------------------------------------------

const status = el("span", { className: "status", text: "connecting…", testid: "console-status" });
const facts = el("span", { className: "facts" });
body.append(el("header", {}, [el("h1", { text: "Notify & Listen — console" }), facts, status]));

/** A card with a big figure, a line under it and a list of label/value rows. */
function card(/** @type {string} */ title, /** @type {string} */ testid) {
    const value = el("div", { className: "figure", testid: `${testid}-value` });
    const note = el("div", { className: "note" });
    const rows = el("dl", { className: "rows" });
    const node = el("section", { className: "card", testid }, [el("h2", { text: title }), value, note, rows]);
    return {
        node,
        /**
         * @param {string} figure
         * @param {string} line
         * @param {Array<[string, string]>} list
         * @param {"ok" | "warn" | "bad"} [tone]
         */
        set(figure, line, list, tone = "ok") {
            value.textContent = figure;
            node.dataset.tone = tone;
            note.textContent = line;
            rows.replaceChildren(...list.flatMap(([label, text]) => [el("dt", { text: label }), el("dd", { text })]));
        }
    };
}

const cards = {
    connections: card("Pages connected", "card-connections"),
    subscriptions: card("Subscriptions", "card-subscriptions"),
    notifications: card("Notifications", "card-notifications"),
    access: card("Access check", "card-access"),
    limits: card("Refusals", "card-refusals"),
    process: card("Process", "card-process")
};
body.append(
    el(
        "main",
        { className: "cards" },
        Object.values(cards).map(entry => entry.node)
    )
);

/**
 * @param {string} title
 * @param {string} testid
 * @param {string[]} columns
 */
function table(title, testid, columns) {
    const tbody = el("tbody");
    const empty = el("p", { className: "empty" });
    const node = el("section", { className: "panel", testid }, [
        el("h2", { text: title }),
        el("table", {}, [
            el("thead", {}, [
                el(
                    "tr",
                    {},
                    columns.map(text => el("th", { text }))
                )
            ]),
            tbody
        ]),
        empty
    ]);
    return {
        node,
        /** @param {string[][]} rows @param {string} emptyText */
        set(rows, emptyText) {
            tbody.replaceChildren(
                ...rows.map(cells =>
                    el(
                        "tr",
                        {},
                        cells.map(text => el("td", { text }))
                    )
                )
            );
            empty.textContent = rows.length === 0 ? emptyText : "";
        }
    };
}

const recentTable = table("Last notifications", "recent", ["time", "channel", "action", "size", "received by"]);
const busiestTable = table("Busiest channels", "busiest", ["channel", "subscribers"]);
body.append(el("div", { className: "panels" }, [recentTable.node, busiestTable.node]));
body.append(
    el("footer", {
        text: "Payload data is never shown. Prometheus: GET /metrics with the same token."
    })
);

// ----- rendering --------------------------------------------------------------------------------------------

/** @type {{ at: number, notifications: number, frames: number } | undefined} */
let previous;

/** @param {number} now @param {number} notifications @param {number} frames */
function rates(now, notifications, frames) {
    const last = previous;
    previous = { at: now, notifications, frames };
    if (last === undefined || now <= last.at) return undefined;
    const seconds = (now - last.at) / 1000;
    return { notifications: (notifications - last.notifications) / seconds, frames: (frames - last.frames) / seconds };
}

/** @param {Snapshot} data */
function render(data) {
    facts.textContent = `${data.broker === "embedded" ? "embedded broker" : "Pusher / Pusher-compatible broker"} · up ${duration(data.uptimeSeconds)}`;

    const connections = data.connections;
    if (connections === null) {
        cards.connections.set("—", "the external broker counts them (its own dashboard)", []);
    } else {
        const current = connections.current ?? 0;
        const refused = sum(connections.refused);
        const share = connections.limit ? current / connections.limit : 0;
        cards.connections.set(
            integer(current),
            connections.limit ? `of at most ${integer(connections.limit)} WebSockets` : "WebSockets",
            [
                ["opened", integer(connections.opened)],
                ["closed", integer(sum(connections.closed))],
                ["refused (4100)", integer(refused)]
            ],
            share >= 0.9 || refused > 0 ? "warn" : "ok"
        );
    }

    if (data.subscriptions === null || data.channels === null) {
        cards.subscriptions.set("—", "the external broker counts them", []);
    } else {
        const channels = data.channels;
        cards.subscriptions.set(integer(sum(data.subscriptions)), `on ${integer(sum(channels))} channels`, [
            ...Object.entries(data.subscriptions).map(
                /** @returns {[string, string]} */ ([kind, value]) => [
                    kind,
                    `${integer(value)} on ${integer(channels[kind] ?? 0)} channels`
                ]
            )
        ]);
    }

    const n = data.notifications;
    const sent = n.single + n.batch;
    const rate = rates(Date.parse(data.time), sent, n.frames ?? 0);
    cards.notifications.set(
        integer(sent),
        rate === undefined ? "sent since the start" : `sent · ${rate.notifications.toFixed(1)}/s now`,
        [
            ["single / batch", `${integer(n.single)} / ${integer(n.batch)}`],
            ["failed (broker)", integer(n.failed)],
            ["frames delivered", n.frames === null ? "— (Pusher)" : integer(n.frames)],
            ["payload bytes", size(n.payloadBytes)]
        ],
        n.failed > 0 ? "warn" : "ok"
    );

    const access = data.accessCheck;
    const unavailable = access.byOutcome.unavailable ?? 0;
    cards.access.set(
        ms(access.averageSeconds),
        `average of ${integer(access.checks)} checks`,
        [
            ["allowed", integer(access.byOutcome.allowed ?? 0)],
            [
                "401 / 403",
                `${integer(access.byOutcome.not_authenticated ?? 0)} / ${integer(access.byOutcome.forbidden ?? 0)}`
            ],
            ["unavailable (503)", integer(unavailable)],
            ["running / waiting", `${access.running ?? "—"} / ${access.waiting ?? "—"}`]
        ],
        unavailable > 0 ? "bad" : "ok"
    );

    const limited = sum(data.rateLimited);
    const errors = sum(data.brokerErrors);
    cards.limits.set(
        integer(limited),
        "rate-limited requests (429)",
        [
            ...Object.entries(data.rateLimited).map(
                /** @returns {[string, string]} */ ([route, value]) => [`429 ${route}`, integer(value)]
            ),
            ["auth signed", integer(data.auth.signed ?? 0)],
            ["auth 401 / 403", `${integer(data.auth.unauthenticated ?? 0)} / ${integer(data.auth.forbidden ?? 0)}`],
            [
                "broker errors",
                errors === 0
                    ? "0"
                    : Object.entries(data.brokerErrors)
                          .filter(([, v]) => v > 0)
                          .map(([code, v]) => `${code}: ${integer(v)}`)
                          .join(", ")
            ]
        ],
        limited > 0 ? "warn" : "ok"
    );

    const lag = data.process.eventLoopLagSeconds;
    cards.process.set(
        size(data.process.rssBytes),
        "resident memory",
        [
            ["heap used", size(data.process.heapUsedBytes)],
            ["event-loop lag p99", ms(lag)],
            ["catch-up runs", integer(sum(data.catchupRuns))]
        ],
        lag !== null && lag > 0.1 ? "warn" : "ok"
    );

    recentTable.set(
        data.recent.map(entry => [
            new Date(entry.time).toLocaleTimeString("en-GB", { hour12: false }),
            entry.channel,
            entry.action,
            size(entry.bytes),
            entry.receivers === null
                ? "— (Pusher)"
                : `${integer(entry.receivers)} socket${entry.receivers === 1 ? "" : "s"}`
        ]),
        "No notification since the start."
    );
    busiestTable.set(
        data.busiestChannels.map(entry => [entry.channel, integer(entry.subscribers)]),
        data.connections === null ? "The external broker knows its channels." : "No channel has a subscriber."
    );
}

async function refresh() {
    try {
        const response = await fetch(dataUrl, { cache: "no-store", credentials: "same-origin" });
        if (!response.ok) {
            throw new Error(`the server answered ${response.status}`);
        }
        /** @type {Snapshot} */
        const data = await response.json();
        render(data);
        status.textContent = `live · ${new Date(data.time).toLocaleTimeString("en-GB", { hour12: false })}`;
        status.dataset.state = "live";
    } catch (error) {
        status.textContent = `not updated: ${error instanceof Error ? error.message : String(error)}`;
        status.dataset.state = "error";
    } finally {
        setTimeout(refresh, refreshMs);
    }
}

void refresh();

// A module (the page loads it with type="module"): its names stay out of the global scope.
export {};
