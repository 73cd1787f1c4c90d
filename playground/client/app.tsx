/**
 * The playground page: a fake Mendix page with a data view holding the BUILT Listen widget, an action
 * log, and a Notify form that asks the playground server to call the notify API (like a microflow).
 * Bundled by esbuild at server start; `react`, `react-dom/client` and the widget come via the import map.
 */
import {
    type ComponentType,
    type FormEvent,
    type ReactElement,
    useCallback,
    useEffect,
    useMemo,
    useRef,
    useState
} from "react";
import { createRoot } from "react-dom/client";
import { DISPATCH_EVENT, type DispatchEventDetail } from "../../protocol/trace";
import { broadcastTopic, channelForTopic, userTopic } from "../../protocol";
import type { DemoObject } from "../data";
import {
    type ActionLogState,
    type SendSummary,
    addNotReceived,
    addRefused,
    addRun,
    applyTrace,
    channelOf,
    clearLog,
    createActionLog,
    entriesSince,
    finishRun,
    objectOfChannel,
    startGroup,
    summarizeSend
} from "./action-log";
import { ActionLog, formatTime } from "./action-log-view";
import { type PlaygroundBootstrap, QUERY, SIGNED_OUT } from "./bootstrap";
import {
    type DynamicValue,
    type ListenActionVariables,
    type ListenWidgetProps,
    type ObjectItem,
    type ReconnectedVariables,
    type ViewersChangedVariables,
    actionValue,
    available,
    createObjectItem,
    loading
} from "./mendix-props";

/** A run of a widget's On connection lost or On reconnected action. */
interface ConnectionEvent {
    id: number;
    at: Date;
    widget: string;
    event: "lost" | "reconnected";
    offlineSeconds?: string;
    mayHaveLost?: boolean;
}

interface WidgetStatus {
    state: string;
    channel: string;
    error: string;
}

/** How long the data view shows "loading" when it switches objects (the Mendix client does too). */
const OBJECT_LOADING_MS = 60;

function readBootstrap(): PlaygroundBootstrap {
    const element = document.getElementById("playground-data");
    if (!element?.textContent) {
        throw new Error("The playground data is missing from the page.");
    }
    return JSON.parse(element.textContent) as PlaygroundBootstrap;
}

function pageUrl(changes: Record<string, string | null>): string {
    const url = new URL(window.location.href);
    for (const [key, value] of Object.entries(changes)) {
        if (value === null) {
            url.searchParams.delete(key);
        } else {
            url.searchParams.set(key, value);
        }
    }
    return url.pathname + url.search;
}

/** The page with every widget setting at its default (user and object stay). */
function resetUrl(): string {
    return pageUrl({
        [QUERY.widgets]: null,
        [QUERY.slowMs]: null,
        [QUERY.delay]: null,
        [QUERY.ignoreOwn]: null,
        [QUERY.topic]: null,
        [QUERY.viewers]: null,
        [QUERY.layout]: null
    });
}

function stateTone(state: string, error: string): "ok" | "bad" | "wait" {
    if (state === "error" || (error && state !== "retrying")) {
        return "bad";
    }
    return state === "listening" ? "ok" : "wait";
}

/**
 * Mirrors the widget's hidden status element (`data-listen-state`, `data-listen-channel`) and inline error. `layout`
 * slots hold the widgets of the page's layout (outside the data view), with their own class names.
 */
function WidgetSlot(props: {
    name: string;
    component: ComponentType<ListenWidgetProps>;
    widgetProps: ListenWidgetProps;
    layout?: boolean;
}): ReactElement {
    const ref = useRef<HTMLDivElement>(null);
    const [status, setStatus] = useState<WidgetStatus>({ state: "not rendered", channel: "", error: "" });
    const prefix = props.layout ? "layout" : "widget";
    useEffect(() => {
        const slot = ref.current?.querySelector<HTMLElement>(`.${prefix}-host`);
        if (!slot) {
            return;
        }
        const read = (): void => {
            const element = slot.querySelector<HTMLElement>("[data-listen-state]");
            const error = slot.querySelector<HTMLElement>(".widget-listen-error, [role=alert]");
            setStatus({
                state: element?.dataset.listenState ?? (slot.childElementCount ? "rendered" : "renders nothing"),
                channel: element?.dataset.listenChannel ?? "",
                error: error?.textContent?.trim() ?? ""
            });
        };
        read();
        const observer = new MutationObserver(read);
        observer.observe(slot, { subtree: true, childList: true, attributes: true, characterData: true });
        return () => observer.disconnect();
    }, [prefix]);
    const Widget = props.component;
    const tone = stateTone(status.state, status.error);
    return (
        <div className={`${prefix}-slot`} data-widget={props.name} ref={ref}>
            <div className="widget-status">
                <span className={`pill pill-${tone}`} data-testid="widget-state">
                    <span className="dot" />
                    {status.state}
                </span>
                <span className="widget-name">{props.name}</span>
                {status.channel ? <code className="widget-channel">{status.channel}</code> : null}
            </div>
            <div className={`${prefix}-host`}>
                <Widget {...props.widgetProps} />
            </div>
        </div>
    );
}

function ObjectCard(props: { object: DemoObject; readable: boolean; loadingObject: boolean }): ReactElement {
    const { object } = props;
    return (
        <div className={`object ${props.loadingObject ? "is-loading" : ""}`} data-testid="object-card">
            <div className="object-head">
                <div>
                    <div className="object-entity">{object.entity}</div>
                    <div className="object-caption">{object.caption}</div>
                </div>
                <div className="object-guid" title="GUID (ObjectItem.id)">
                    <span>GUID</span>
                    <code data-testid="object-guid">{object.guid}</code>
                </div>
            </div>
            <dl className="attributes">
                {object.attributes.map(attribute => (
                    <div key={attribute.name}>
                        <dt>{attribute.name}</dt>
                        <dd>{attribute.value}</dd>
                    </div>
                ))}
            </dl>
            {props.readable ? null : (
                <p className="note note-warn">
                    This user may not read this object. A real data view would stay empty; the widget is mounted anyway
                    so you can see the server refuse the subscription.
                </p>
            )}
        </div>
    );
}

/** What the widgets' connection events ran: On connection lost, On reconnected with its variables. */
function ConnectionLog(props: { events: ConnectionEvent[] }): ReactElement | null {
    if (props.events.length === 0) {
        return null;
    }
    return (
        <section className="card">
            <header className="card-head">
                <h2>Connection events</h2>
                <span className="muted">On connection lost, On reconnected</span>
            </header>
            <ol className="log" id="connection-log">
                {[...props.events].reverse().map(event => (
                    <li
                        key={event.id}
                        className="log-entry"
                        data-testid="connection-event"
                        data-widget={event.widget}
                        data-event={event.event}
                        data-offline-seconds={event.offlineSeconds ?? ""}
                        data-may-have-lost={event.mayHaveLost === undefined ? "" : String(event.mayHaveLost)}
                    >
                        <span className="log-time">{formatTime(event.at)}</span>
                        <span className="log-main">
                            <strong>{event.event === "lost" ? "On connection lost" : "On reconnected"}</strong>
                            <span className="muted"> ran in {event.widget}</span>
                            {event.event === "reconnected" ? (
                                <dl className="log-vars">
                                    <dt>offlineSeconds</dt>
                                    <dd>
                                        <code>{event.offlineSeconds ?? "empty"}</code>
                                    </dd>
                                    <dt>mayHaveLost</dt>
                                    <dd>
                                        <code>{String(event.mayHaveLost)}</code>
                                    </dd>
                                </dl>
                            ) : null}
                        </span>
                    </li>
                ))}
            </ol>
        </section>
    );
}

/** A run of a widget's On viewers changed action, with its variables. */
interface ViewersEvent {
    id: number;
    at: Date;
    widget: string;
    count: string;
    names: string;
}

/** What On viewers changed ran with: Count and Names, newest first. */
function ViewersLog(props: { events: ViewersEvent[] }): ReactElement {
    return (
        <section className="card" data-testid="viewers-card">
            <header className="card-head">
                <h2>Who else is viewing</h2>
                <span className="muted">On viewers changed</span>
            </header>
            {props.events.length === 0 ? (
                <p className="muted empty" data-testid="viewers-log-empty">
                    Open this object in a second window as another user (for example mary): the widget lists them, and
                    On viewers changed runs with Count and Names.
                </p>
            ) : (
                <ol className="log" id="viewers-log">
                    {[...props.events].reverse().map(event => (
                        <li
                            key={event.id}
                            className="log-entry"
                            data-testid="viewers-event"
                            data-widget={event.widget}
                            data-count={event.count}
                            data-names={event.names}
                        >
                            <span className="log-time">{formatTime(event.at)}</span>
                            <span className="log-main">
                                <strong>On viewers changed</strong>
                                <span className="muted"> ran in {event.widget}</span>
                                <dl className="log-vars">
                                    <dt>count</dt>
                                    <dd>
                                        <code>{event.count}</code>
                                    </dd>
                                    <dt>names</dt>
                                    <dd>
                                        <code>{event.names || "empty"}</code>
                                    </dd>
                                </dl>
                            </span>
                        </li>
                    ))}
                </ol>
            )}
        </section>
    );
}

/** A toast the user widget's action showed ("your export is ready"). */
interface Toast {
    id: number;
    sender: string;
    text: string;
}

/** Action names of the layout's widgets (their action lists). */
const LAYOUT_ACTIONS = { toast: "toast", banner: "banner", clearBanner: "clearBanner" } as const;
/** The broadcast the layout's broadcast widget listens to. */
const LAYOUT_BROADCAST = "all";

/**
 * The page's layout (what a Mendix layout or snippet holds, outside any data view): a Listen widget for the current
 * user's notifications, whose action shows a toast, and one for the broadcast `all`, whose actions show and clear a
 * banner.
 */
function LayoutWidgets(props: { component: ComponentType<ListenWidgetProps> | null; boot: PlaygroundBootstrap }) {
    const { component } = props;
    const [toasts, setToasts] = useState<Toast[]>([]);
    const [banner, setBanner] = useState<{ text: string; sender: string } | null>(null);
    const nextToast = useRef(1);
    const widgets = useMemo((): ListenWidgetProps[] => {
        const base = {
            class: "",
            style: undefined,
            tabIndex: 0,
            topic: undefined,
            objectSource: undefined,
            showViewers: false,
            ignoreOwn: false,
            delay: 0,
            serverUrl: ""
        };
        return [
            {
                ...base,
                name: "userListen",
                listenTo: "user",
                broadcastName: "",
                actions: [
                    {
                        actionName: LAYOUT_ACTIONS.toast,
                        action: actionValue<ListenActionVariables>(false, variables => {
                            const toast = {
                                id: nextToast.current++,
                                sender: variables?.sender ?? "",
                                text: variables?.data || "You have a new notification."
                            };
                            setToasts(list => [...list, toast]);
                        })
                    }
                ]
            },
            {
                ...base,
                name: "broadcastListen",
                listenTo: "broadcast",
                broadcastName: LAYOUT_BROADCAST,
                actions: [
                    {
                        actionName: LAYOUT_ACTIONS.banner,
                        action: actionValue<ListenActionVariables>(false, variables =>
                            setBanner({ text: variables?.data || "Announcement", sender: variables?.sender ?? "" })
                        )
                    },
                    {
                        actionName: LAYOUT_ACTIONS.clearBanner,
                        action: actionValue<ListenActionVariables>(false, () => setBanner(null))
                    }
                ]
            }
        ];
    }, []);
    return (
        <>
            {banner ? (
                <div className="banner" role="status" data-testid="banner" data-sender={banner.sender}>
                    <span className="banner-mark" aria-hidden="true">
                        ⚠
                    </span>
                    <span className="banner-text">{banner.text}</span>
                    <button type="button" className="banner-close" onClick={() => setBanner(null)}>
                        Dismiss
                    </button>
                </div>
            ) : null}
            <section className="layout-bar" data-testid="layout-bar">
                <span className="layout-title">
                    Layout <span className="muted">· no data view</span>
                </span>
                {component ? (
                    widgets.map(widgetProps => (
                        <WidgetSlot
                            key={widgetProps.name}
                            name={widgetProps.name}
                            component={component}
                            widgetProps={widgetProps}
                            layout
                        />
                    ))
                ) : (
                    <span className="muted">Loading the widget…</span>
                )}
                <span className="layout-hint muted">
                    Notify the user <b>{props.boot.user?.name ?? "…"}</b> with action{" "}
                    <code>{LAYOUT_ACTIONS.toast}</code>, or the broadcast <code>{LAYOUT_BROADCAST}</code> with{" "}
                    <code>{LAYOUT_ACTIONS.banner}</code>
                </span>
            </section>
            <div className="toasts" aria-live="polite">
                {toasts.map(toast => (
                    <div key={toast.id} className="toast" role="status" data-testid="toast" data-sender={toast.sender}>
                        <span className="toast-text">{toast.text}</span>
                        <button
                            type="button"
                            className="toast-close"
                            aria-label="Close"
                            onClick={() => setToasts(list => list.filter(item => item.id !== toast.id))}
                        >
                            ×
                        </button>
                    </div>
                ))}
            </div>
        </>
    );
}

interface NotifyResult {
    ok: boolean;
    text: string;
}

/** One press of Notify: what was sent where, and the server's refusal if it refused. */
interface NotifySend {
    at: Date;
    channel: string;
    objectGuid: string;
    action: string;
    data: string;
    sender: string;
    count: number;
    refused?: string;
}

function NotifyCard(props: {
    boot: PlaygroundBootstrap;
    current: DemoObject;
    onSend: (send: NotifySend) => void;
    outcome: SendSummary | null;
}): ReactElement {
    const { boot, current, onSend, outcome } = props;
    const [target, setTarget] = useState("current");
    const [action, setAction] = useState(boot.actions[0] ?? "refresh");
    const [data, setData] = useState("");
    const [sender, setSender] = useState(boot.user?.name ?? "");
    const [count, setCount] = useState(1);
    const [busy, setBusy] = useState(false);
    const [result, setResult] = useState<NotifyResult | null>(null);
    /** How many answers the form got (tells tests and people that a new answer came, even with the same text). */
    const [answers, setAnswers] = useState(0);
    // "current", an object's GUID, "user:<name>" (the user's notifications) or "broadcast:<name>".
    const [kind, name] = target.includes(":") ? target.split(/:(.*)/) : ["object", ""];
    const targetObject = target === "current" ? current : (boot.objects.find(o => o.guid === target) ?? current);
    let topic: string;
    if (kind === "user") {
        topic = userTopic(name);
    } else if (kind === "broadcast") {
        topic = broadcastTopic(name);
    } else {
        topic =
            boot.topicMode === "key" && targetObject.keyTopic
                ? targetObject.keyTopic
                : `${targetObject.entity}.${targetObject.guid}`;
    }

    /** A new target: the layout's widgets listen for their own action names. */
    const changeTarget = (value: string): void => {
        setTarget(value);
        if (value.startsWith("user:")) {
            setAction(LAYOUT_ACTIONS.toast);
            setData("Your export is ready.");
        } else if (value.startsWith("broadcast:")) {
            setAction(LAYOUT_ACTIONS.banner);
            setData("Maintenance tonight from 22:00 to 22:30.");
        } else if (kind !== "object") {
            setAction(boot.actions[0] ?? "refresh");
            setData("");
        }
    };

    const submit = async (event: FormEvent): Promise<void> => {
        event.preventDefault();
        setBusy(true);
        setResult(null);
        const send: NotifySend = {
            at: new Date(),
            channel: channelForTopic(topic),
            objectGuid: kind === "object" ? targetObject.guid : "",
            action,
            data,
            sender,
            count
        };
        const targetBody: Record<string, string> =
            kind === "object" ? { guid: targetObject.guid, topicMode: boot.topicMode } : { [kind]: name };
        try {
            const response = await fetch("/playground/notify", {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({
                    ...targetBody,
                    action,
                    data,
                    sender,
                    count
                })
            });
            const body = (await response.json()) as {
                triggered?: number;
                channels?: string[];
                error?: { code: string; message: string };
            };
            if (response.ok) {
                const n = body.triggered ?? 0;
                setResult({
                    ok: true,
                    text: `Sent ${n} notification${n === 1 ? "" : "s"} to ${body.channels?.join(", ") ?? "?"}`
                });
                onSend(send);
            } else {
                const text = `${response.status} ${body.error?.code ?? ""}: ${body.error?.message ?? "failed"}`;
                setResult({ ok: false, text });
                onSend({ ...send, refused: text });
            }
        } catch (error) {
            setResult({ ok: false, text: `Request failed: ${String(error)}` });
            onSend({ ...send, refused: `the request failed: ${String(error)}` });
        } finally {
            setAnswers(n => n + 1);
            setBusy(false);
        }
    };

    return (
        <section className="card card-notify">
            <header className="card-head">
                <h2>Notify</h2>
                <span className="muted">what a microflow does after commit</span>
            </header>
            <form className="form" onSubmit={event => void submit(event)} data-testid="notify-form">
                <label>
                    <span>Target</span>
                    <select name="target" value={target} onChange={event => changeTarget(event.target.value)}>
                        <optgroup label="An object (its pages)">
                            <option value="current">Shown object ({current.caption})</option>
                            {boot.objects.map(object => (
                                <option key={object.guid} value={object.guid}>
                                    {object.caption} · {object.entity}
                                </option>
                            ))}
                        </optgroup>
                        <optgroup label="A user (all their pages)">
                            {boot.users.map(user => (
                                <option key={user.name} value={`user:${user.name}`}>
                                    User {user.name} · {user.fullName}
                                </option>
                            ))}
                        </optgroup>
                        <optgroup label="A broadcast (every signed-in user)">
                            <option value={`broadcast:${LAYOUT_BROADCAST}`}>Broadcast {LAYOUT_BROADCAST}</option>
                        </optgroup>
                    </select>
                </label>
                <label>
                    <span>Action</span>
                    <input
                        name="action"
                        list="action-names"
                        value={action}
                        onChange={event => setAction(event.target.value)}
                        required
                    />
                    <datalist id="action-names">
                        {boot.actions.map(name => (
                            <option key={name} value={name} />
                        ))}
                    </datalist>
                </label>
                <label>
                    <span>Data</span>
                    <input
                        name="data"
                        value={data}
                        placeholder="optional text for the action"
                        maxLength={8000}
                        onChange={event => setData(event.target.value)}
                    />
                </label>
                <div className="form-row">
                    <label>
                        <span>Sender</span>
                        <input name="sender" value={sender} onChange={event => setSender(event.target.value)} />
                    </label>
                    <label className="narrow">
                        <span>Times</span>
                        <input
                            name="count"
                            type="number"
                            min={1}
                            max={100}
                            value={count}
                            onChange={event => setCount(Math.max(1, Math.min(100, Number(event.target.value) || 1)))}
                        />
                    </label>
                </div>
                <div className="form-foot">
                    <code className="topic" title="channel" data-testid="notify-channel">
                        {channelForTopic(topic)}
                    </code>
                    <button type="submit" className="primary" disabled={busy} data-testid="notify-button">
                        {busy ? "Sending…" : "Notify"}
                    </button>
                </div>
                {result ? (
                    <p
                        className={`result ${result.ok ? "result-ok" : "result-bad"}`}
                        data-testid="notify-result"
                        data-answer={answers}
                    >
                        {result.text}
                    </p>
                ) : null}
                {result && outcome ? (
                    <p
                        className={`outcome outcome-${outcome.tone}`}
                        data-testid="notify-outcome"
                        data-tone={outcome.tone}
                    >
                        <span className="outcome-head">On this page</span> {outcome.text}
                    </p>
                ) : null}
            </form>
            <p className="fineprint">
                The server calls <code>POST /rest/pusher/notify</code> with its API key, exactly like a microflow's Call
                REST. The key never reaches this page.
            </p>
        </section>
    );
}

function TipsCard(props: { boot: PlaygroundBootstrap }): ReactElement {
    const { boot } = props;
    const flags = readFlags();
    const toggles: Array<{ key: string; label: string; active: boolean; href: string }> = [
        {
            key: QUERY.widgets,
            label: "3 widgets",
            active: boot.widgets > 1,
            href: pageUrl({ [QUERY.widgets]: boot.widgets > 1 ? null : "3" })
        },
        {
            key: QUERY.slowMs,
            label: "Slow action (2 s)",
            active: boot.slowMs > 0,
            href: pageUrl({ [QUERY.slowMs]: boot.slowMs > 0 ? null : "2000" })
        },
        {
            key: QUERY.delay,
            label: "Delay 500 ms",
            active: boot.delay > 0,
            href: pageUrl({ [QUERY.delay]: boot.delay > 0 ? null : "500" })
        },
        {
            key: QUERY.ignoreOwn,
            label: "Ignore own notifications",
            active: boot.ignoreOwn,
            href: pageUrl({ [QUERY.ignoreOwn]: boot.ignoreOwn ? null : "1" })
        },
        {
            key: QUERY.topic,
            label: "Topic by key attribute",
            active: boot.topicMode === "key",
            href: pageUrl({ [QUERY.topic]: boot.topicMode === "key" ? null : "key" })
        },
        {
            key: QUERY.viewers,
            label: "Show who else is viewing",
            active: flags.viewers,
            href: pageUrl({ [QUERY.viewers]: flags.viewers ? null : "1" })
        },
        {
            key: QUERY.layout,
            label: "User & broadcast widgets",
            active: flags.layout,
            href: pageUrl({ [QUERY.layout]: flags.layout ? null : "1" })
        }
    ];
    const active = toggles.filter(toggle => toggle.active);
    return (
        <section className="card">
            <header className="card-head">
                <h2>Try it</h2>
            </header>
            <ol className="tips">
                <li>
                    Press <b>Notify</b>: the widget runs its action. The action log says what each widget did with each
                    notification, and why when nothing ran.
                </li>
                <li>
                    Set <b>Times</b> to 12: one run, then ONE trailing run with the latest payload; the log shows which
                    notifications merged into it.
                </li>
                <li>Open a second window and notify from one: both run the action at once.</li>
                <li>
                    Switch to <b>eve</b>: she may not read the object, so her subscription is refused.
                </li>
                <li>
                    <a href={pageUrl({ [QUERY.viewers]: "1", [QUERY.layout]: "1" })} data-testid="modes-link">
                        See every mode
                    </a>
                    : open it as john and as mary: each page lists the other viewer; Notify a user shows a toast in that
                    user&apos;s pages only, a broadcast shows a banner in every page.
                </li>
            </ol>
            <div className="toggles" role="group" aria-label="Widget settings">
                {toggles.map(toggle => (
                    <a
                        key={toggle.key}
                        className={`toggle ${toggle.active ? "on" : ""}`}
                        href={toggle.href}
                        role="switch"
                        aria-checked={toggle.active}
                        data-testid="chip"
                        data-chip={toggle.key}
                        title={toggle.active ? "On: click to switch it off" : "Off: click to switch it on"}
                    >
                        <span className="toggle-mark" aria-hidden="true">
                            {toggle.active ? "✓" : "+"}
                        </span>
                        {toggle.label}
                        <span className="toggle-state">{toggle.active ? "on" : "off"}</span>
                    </a>
                ))}
            </div>
            <p className="toggles-foot" data-testid="chips-summary">
                {active.length === 0 ? (
                    <span className="muted">All settings at their defaults.</span>
                ) : (
                    <>
                        <span>
                            On: <b>{active.map(toggle => toggle.label).join(", ")}</b>
                        </span>
                        <a className="reset" href={resetUrl()} data-testid="chips-reset">
                            Reset all
                        </a>
                    </>
                )}
            </p>
        </section>
    );
}

function HowCard(props: { boot: PlaygroundBootstrap }): ReactElement {
    const { boot } = props;
    return (
        <section className="card">
            <header className="card-head">
                <h2>How it works</h2>
            </header>
            <dl className="how">
                <dt>Widget</dt>
                <dd title={boot.widgetSource ?? ""}>
                    {boot.widgetSource ? "the built module from the mpk" : "not built"}, loaded through an import map
                </dd>
                <dt>Subscribe</dt>
                <dd>
                    <code>/rest/pusher/auth</code> asks{" "}
                    {boot.accessCheck === "fake-runtime" ? "the fake Mendix app" : "your Mendix app"}: john and mary may
                    read every object, eve none
                </dd>
                <dt>Notify</dt>
                <dd>
                    <code>/rest/pusher/notify</code> reaches every page on the object, one WebSocket per page
                </dd>
            </dl>
        </section>
    );
}

/** The page's own switches (query parameters the server does not read): see QUERY. */
function readFlags(): { viewers: boolean; layout: boolean } {
    const query = new URLSearchParams(window.location.search);
    return { viewers: query.get(QUERY.viewers) === "1", layout: query.get(QUERY.layout) === "1" };
}

function App(props: { boot: PlaygroundBootstrap }): ReactElement {
    const { boot } = props;
    const flags = useMemo(readFlags, []);
    const [viewersEvents, setViewersEvents] = useState<ViewersEvent[]>([]);
    const [component, setComponent] = useState<ComponentType<ListenWidgetProps> | null>(null);
    const [loadProblem, setLoadProblem] = useState<string | null>(boot.widgetProblem);
    const [objectGuid, setObjectGuid] = useState(boot.objectGuid);
    const [loadingObject, setLoadingObject] = useState(false);
    const [log, setLog] = useState<ActionLogState>(() => {
        const first = boot.objects.find(object => object.guid === boot.objectGuid) ?? boot.objects[0];
        return createActionLog(first.guid, channelOf(first, boot.topicMode));
    });
    const [lastSend, setLastSend] = useState<NotifySend | null>(null);
    const [connectionEvents, setConnectionEvents] = useState<ConnectionEvent[]>([]);
    const [executing, setExecuting] = useState<Record<string, boolean>>({});
    const executingRef = useRef<Record<string, boolean>>({});
    const nextId = useRef(1);
    const objectGuidRef = useRef(objectGuid);
    objectGuidRef.current = objectGuid;

    useEffect(() => {
        if (!boot.widgetUrl) {
            return;
        }
        import(/* @vite-ignore */ boot.widgetUrl).then(
            (module: Record<string, unknown>) => {
                const exported = (module.Listen ?? module.default) as ComponentType<ListenWidgetProps> | undefined;
                if (typeof exported === "function" || (typeof exported === "object" && exported !== null)) {
                    setComponent(() => exported);
                } else {
                    setLoadProblem(`${boot.widgetUrl} does not export a Listen component.`);
                }
            },
            (error: unknown) => setLoadProblem(`Loading ${boot.widgetUrl} failed: ${String(error)}`)
        );
    }, [boot.widgetUrl]);

    // What the widgets decide about each notification (protocol/trace.ts) goes into the action log.
    useEffect(() => {
        const onTrace = (event: Event): void => {
            const { widget, channel, trace } = (event as CustomEvent<DispatchEventDetail>).detail;
            const at = new Date();
            const objectGuid = objectOfChannel(boot.objects, channel)?.guid;
            setLog(state => applyTrace(state, widget, channel, trace, objectGuid, at));
        };
        document.addEventListener(DISPATCH_EVENT, onTrace);
        return () => document.removeEventListener(DISPATCH_EVENT, onTrace);
    }, [boot.objects]);

    const items = useMemo(() => new Map(boot.objects.map(object => [object.guid, createObjectItem(object)])), [boot]);
    const current = boot.objects.find(object => object.guid === objectGuid) ?? boot.objects[0];

    const switchObject = (guid: string): void => {
        if (guid === objectGuid) {
            return;
        }
        const object = boot.objects.find(candidate => candidate.guid === guid) ?? boot.objects[0];
        setLog(state => startGroup(state, object.guid, channelOf(object, boot.topicMode)));
        setLoadingObject(true);
        setObjectGuid(guid);
        window.history.replaceState(null, "", pageUrl({ [QUERY.object]: guid }));
        window.setTimeout(() => setLoadingObject(false), OBJECT_LOADING_MS);
    };

    const execute = useCallback(
        (widget: string, action: string, variables: ListenActionVariables): void => {
            const key = `${widget}|${action}`;
            const object = boot.objects.find(candidate => candidate.guid === objectGuidRef.current) ?? boot.objects[0];
            const run = {
                token: nextId.current++,
                at: new Date(),
                widget,
                action,
                objectGuid: object.guid,
                channel: channelOf(object, boot.topicMode),
                sender: variables?.sender,
                changedDate:
                    variables?.changedDate instanceof Date
                        ? variables.changedDate.toISOString()
                        : variables?.changedDate === undefined
                          ? undefined
                          : String(variables.changedDate),
                data: variables?.data,
                status: "running" as const
            };
            if (boot.slowMs <= 0) {
                // A quick action (a nanoflow that only refreshes): over before the widget renders again, so the
                // widget never sees isExecuting and waits its settle time before a trailing run.
                setLog(state => addRun(state, { ...run, status: "done" }));
                return;
            }
            if (executingRef.current[key]) {
                // Mendix actions are "disabled during execution": the client ignores the call.
                console.debug(`[playground] ${action} in ${widget} is still executing; this execute() is ignored.`);
                setLog(state => addRun(state, { ...run, status: "ignored" }));
                return;
            }
            executingRef.current[key] = true;
            setLog(state => addRun(state, run));
            setExecuting(map => ({ ...map, [key]: true }));
            window.setTimeout(() => {
                executingRef.current[key] = false;
                setExecuting(map => ({ ...map, [key]: false }));
                setLog(state => finishRun(state, run.token));
            }, boot.slowMs);
        },
        [boot.slowMs, boot.objects, boot.topicMode]
    );

    /**
     * After a press of Notify: the server's refusal, and each widget of this page that cannot get the notification
     * (another topic, a refused subscription), go into the log; the widgets' own traces tell the rest.
     */
    const onSend = useCallback(
        (send: NotifySend): void => {
            setLastSend(send);
            const about = {
                action: send.action,
                objectGuid: send.objectGuid,
                channel: send.channel,
                sender: send.sender || undefined,
                data: send.data || undefined
            };
            if (send.refused !== undefined) {
                const reason = `The server refused it, so no page got it: ${send.refused}`;
                setLog(state => addRefused(state, { ...about, reason }));
                return;
            }
            if (send.objectGuid === "") {
                // A user's or a broadcast's notification: the layout's widgets show it, the data view does not get it.
                return;
            }
            const what = send.count > 1 ? `these ${send.count} notifications` : "this notification";
            for (const slot of document.querySelectorAll<HTMLElement>(".widget-slot")) {
                const widget = slot.dataset.widget ?? "";
                const status = slot.querySelector<HTMLElement>(".widget-host [data-listen-state]");
                const state = status?.dataset.listenState ?? "";
                const channel = status?.dataset.listenChannel ?? "";
                if (state === "listening" && channel === send.channel) {
                    continue;
                }
                const error = slot.querySelector(".widget-host .widget-listen-error")?.textContent?.trim();
                let reason: string;
                if (channel !== "" && channel !== send.channel) {
                    const other = objectOfChannel(boot.objects, channel)?.caption ?? "another object";
                    reason = `${widget} listens to ${channel} (${other}), so it does not get ${what}.`;
                } else if (state === "error") {
                    reason = `${widget} is not subscribed (${error || "its subscription was refused"}), so it does not get ${what}.`;
                } else {
                    reason = `${widget} was not listening yet (${state || "not rendered"}) when ${what} went out.`;
                }
                setLog(current => addNotReceived(current, { ...about, widget, reason }));
            }
        },
        [boot.objects]
    );

    const logConnection = useCallback(
        (widget: string, event: ConnectionEvent["event"], vars?: ReconnectedVariables) => {
            const entry: ConnectionEvent = {
                id: nextId.current++,
                at: new Date(),
                widget,
                event,
                offlineSeconds: vars?.offlineSeconds?.toString(),
                mayHaveLost: vars?.mayHaveLost
            };
            setConnectionEvents(list => [...list, entry]);
        },
        []
    );

    const logViewers = useCallback((widget: string, vars?: ViewersChangedVariables) => {
        const entry: ViewersEvent = {
            id: nextId.current++,
            at: new Date(),
            widget,
            count: vars?.count?.toString() ?? "",
            names: vars?.names ?? ""
        };
        setViewersEvents(list => [...list, entry]);
    }, []);

    const widgetNames = useMemo(() => Array.from({ length: boot.widgets }, (_, i) => `listen${i + 1}`), [boot]);
    const outcome = useMemo(
        () =>
            lastSend === null || lastSend.objectGuid === ""
                ? null
                : summarizeSend(entriesSince(log, lastSend.at, lastSend.channel), widgetNames),
        [log, lastSend, widgetNames]
    );
    const explain = useMemo(
        () => ({ actions: boot.actions, delay: boot.delay, userName: boot.user?.name }),
        [boot.actions, boot.delay, boot.user]
    );

    const objectSource: DynamicValue<ObjectItem> = useMemo(
        () => (loadingObject ? loading<ObjectItem>() : available(items.get(current.guid)!)),
        [loadingObject, items, current.guid]
    );
    const topic: DynamicValue<string> | undefined = useMemo(() => {
        if (boot.topicMode !== "key") {
            return undefined;
        }
        return loadingObject || !current.keyTopic ? loading<string>() : available(current.keyTopic);
    }, [boot.topicMode, loadingObject, current.keyTopic]);

    // New ActionValue objects only when their isExecuting changes, as the Mendix client does.
    const widgetProps = useMemo(
        () =>
            widgetNames.map((name): ListenWidgetProps => ({
                name,
                class: "",
                style: undefined,
                tabIndex: 0,
                listenTo: "object",
                objectSource,
                topic,
                broadcastName: "",
                showViewers: flags.viewers,
                viewersCaption: available("Also viewing:"),
                onViewersChanged: actionValue<ViewersChangedVariables>(false, vars => logViewers(name, vars)),
                actions: boot.actions.map(actionName => ({
                    actionName,
                    action: actionValue<ListenActionVariables>(Boolean(executing[`${name}|${actionName}`]), variables =>
                        execute(name, actionName, variables)
                    )
                })),
                ignoreOwn: boot.ignoreOwn,
                delay: boot.delay,
                onConnectionLost: actionValue<undefined>(false, () => logConnection(name, "lost")),
                onReconnected: actionValue<ReconnectedVariables>(false, vars =>
                    logConnection(name, "reconnected", vars)
                ),
                serverUrl: ""
            })),
        [widgetNames, objectSource, topic, executing, execute, logConnection, logViewers, flags.viewers, boot]
    );

    const readable = boot.readable.includes(current.guid);
    return (
        <div className="page">
            <header className="topbar">
                <div className="brand">
                    <span className="logo" aria-hidden="true">
                        ◉
                    </span>
                    <div>
                        <div className="brand-name">Notify &amp; Listen</div>
                        <div className="brand-sub">Playground · fake Mendix app with the built Listen widget</div>
                    </div>
                </div>
                <div className="account">
                    {boot.consoleUrl ? (
                        <a
                            className="console-link"
                            href={boot.consoleUrl}
                            target="_blank"
                            rel="noopener noreferrer"
                            title="Live counts for operators (sign in with any user name and METRICS_TOKEN as password)"
                            data-testid="console-link"
                        >
                            Operator console ↗
                        </a>
                    ) : null}
                    <span className="whoami" data-testid="whoami">
                        {boot.user ? (
                            <>
                                <span>
                                    Signed in as <b>{boot.user.name}</b>
                                </span>
                                <span className="whoami-sub">{boot.user.fullName}</span>
                            </>
                        ) : (
                            <>
                                <span>Signed out</span>
                                <span className="whoami-sub">no session: every subscription is refused</span>
                            </>
                        )}
                    </span>
                    <nav className="users" aria-label="Signed-in user">
                        {boot.users.map(user => (
                            <a
                                key={user.name}
                                href={pageUrl({ [QUERY.user]: user.name })}
                                className={boot.user?.name === user.name ? "active" : ""}
                                title={user.fullName}
                            >
                                {user.name}
                            </a>
                        ))}
                        <a
                            href={pageUrl({ [QUERY.user]: SIGNED_OUT })}
                            className={boot.user === null ? "active" : ""}
                            title="No session"
                        >
                            signed out
                        </a>
                    </nav>
                </div>
            </header>
            {flags.layout ? <LayoutWidgets component={component} boot={boot} /> : null}
            <main className="grid">
                <div className="column">
                    <section className="card card-dataview">
                        <header className="card-head">
                            <h2>Data view</h2>
                            <div className="tabs" role="tablist" aria-label="Object shown">
                                {boot.objects.map(object => (
                                    <button
                                        key={object.guid}
                                        type="button"
                                        role="tab"
                                        aria-selected={object.guid === current.guid}
                                        className={object.guid === current.guid ? "active" : ""}
                                        data-object={object.guid}
                                        onClick={() => switchObject(object.guid)}
                                    >
                                        {object.caption}
                                    </button>
                                ))}
                            </div>
                        </header>
                        <ObjectCard object={current} readable={readable} loadingObject={loadingObject} />
                        <div className="widgets">
                            <div className="widgets-title">
                                Listen widget{boot.widgets > 1 ? `s (${boot.widgets})` : ""}
                                <span className="muted">
                                    {" "}
                                    · actions {boot.actions.join(", ")}
                                    {boot.ignoreOwn ? " · ignores own notifications" : ""}
                                    {boot.delay ? ` · delay ${boot.delay} ms` : ""}
                                    {boot.topicMode === "key" ? " · topic by key attribute" : ""}
                                    {boot.slowMs ? ` · each run takes ${boot.slowMs} ms` : ""}
                                </span>
                            </div>
                            {loadProblem ? (
                                <div className="problem" data-testid="widget-problem">
                                    {loadProblem}
                                </div>
                            ) : component ? (
                                widgetNames.map((name, index) => (
                                    <WidgetSlot
                                        key={name}
                                        name={name}
                                        component={component}
                                        widgetProps={widgetProps[index]}
                                    />
                                ))
                            ) : (
                                <p className="muted">Loading the widget…</p>
                            )}
                        </div>
                    </section>
                    <ActionLog
                        log={log}
                        objects={boot.objects}
                        context={explain}
                        slowMs={boot.slowMs}
                        onClear={() => setLog(clearLog)}
                    />
                    {flags.viewers ? <ViewersLog events={viewersEvents} /> : null}
                    <ConnectionLog events={connectionEvents} />
                    <TipsCard boot={boot} />
                </div>
                <div className="column">
                    <NotifyCard boot={boot} current={current} onSend={onSend} outcome={outcome} />
                    <HowCard boot={boot} />
                </div>
            </main>
        </div>
    );
}

const container = document.getElementById("root");
if (container) {
    createRoot(container).render(<App boot={readBootstrap()} />);
}
