/**
 * The action log card: one group per object the data view showed (newest first), in each what every widget did with
 * every notification: the runs with their action variables, and the notifications that did not start a run, with
 * why and what became of them. See action-log.ts for the data.
 */
import type { ReactElement } from "react";
import type { DemoObject } from "../data";
import {
    type ActionLogState,
    type ExplainContext,
    type LogEntry,
    type LogGroup,
    type NoticeEntry,
    type RunEntry,
    WIDGET_SETTLE_MS,
    describeFate,
    explainNotice,
    noticeLabel,
    objectOfChannel
} from "./action-log";

export function formatTime(date: Date): string {
    return date.toLocaleTimeString([], { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

function objectName(objects: readonly DemoObject[], guid: string | undefined, channel: string): string {
    const object = objects.find(candidate => candidate.guid === guid) ?? objectOfChannel(objects, channel);
    return object ? object.caption : "another topic";
}

/** The action variables: of the run, or (without `changedDate`) of the notification. */
function Variables(props: {
    sender: string | undefined;
    changedDate?: { value: string | undefined };
    data: string | undefined;
}): ReactElement {
    return (
        <dl className="log-vars">
            <dt>sender</dt>
            <dd>
                <code>{props.sender === undefined ? "empty" : props.sender}</code>
            </dd>
            {props.changedDate ? (
                <>
                    <dt>changedDate</dt>
                    <dd>
                        <code>{props.changedDate.value ?? "empty"}</code>
                    </dd>
                </>
            ) : null}
            <dt>data</dt>
            <dd>{props.data === undefined ? <span className="muted">empty</span> : <code>{props.data}</code>}</dd>
        </dl>
    );
}

/** Where an entry came from: the object and the channel (topic) of the notification. */
function Source(props: { objects: readonly DemoObject[]; entry: LogEntry }): ReactElement {
    const { entry } = props;
    return (
        <span className="log-source">
            from <b>{objectName(props.objects, entry.objectGuid, entry.channel)}</b> · <code>{entry.channel}</code>
        </span>
    );
}

function RunItem(props: { entry: RunEntry; objects: readonly DemoObject[] }): ReactElement {
    const { entry } = props;
    const carried = entry.carried;
    return (
        <li
            className={`log-entry status-${entry.status}`}
            data-testid={entry.status === "ignored" ? "action-ignored" : "action-run"}
            data-widget={entry.widget}
            data-action={entry.action}
            data-object={entry.objectGuid}
            data-channel={entry.channel}
            data-run={entry.run ?? ""}
            data-sender={entry.sender ?? ""}
            data-changed-date={entry.changedDate ?? ""}
            data-data={entry.data ?? ""}
            data-status={entry.status}
        >
            <span className="log-time">{formatTime(entry.at)}</span>
            <span className="log-main">
                <strong>{entry.action}</strong>
                <span className="muted">
                    {" "}
                    ran in {entry.widget}
                    {entry.run === undefined ? "" : ` · run #${entry.run}`}
                </span>
                {entry.status === "ignored" ? (
                    <span className="tag tag-warn">ignored: still executing</span>
                ) : (
                    <span className={`tag tag-${entry.status}`}>{entry.status}</span>
                )}
                <Source objects={props.objects} entry={entry} />
                {carried ? (
                    <span className="log-why" data-testid="run-carried">
                        {carried.after === "delay"
                            ? `The delayed run: ${carried.count} notification${carried.count === 1 ? "" : "s"} waited, the latest one's payload runs.`
                            : `The trailing run after run #${carried.after}: ${carried.count} notification${carried.count === 1 ? "" : "s"} waited, the latest one's payload runs.`}
                    </span>
                ) : null}
                <Variables sender={entry.sender} changedDate={{ value: entry.changedDate }} data={entry.data} />
            </span>
        </li>
    );
}

function noticeTone(entry: NoticeEntry): "wait" | "warn" | "info" {
    if (entry.outcome === "coalesced" || entry.outcome === "merged" || entry.outcome === "delayed") {
        return "wait";
    }
    return entry.outcome === "ignored-own" ? "info" : "warn";
}

function NoticeItem(props: {
    entry: NoticeEntry;
    objects: readonly DemoObject[];
    context: ExplainContext;
}): ReactElement {
    const { entry } = props;
    const fate = entry.fate;
    const label =
        entry.outcome === "coalesced" ? `merged: waits for run #${entry.run} to finish` : noticeLabel(entry.outcome);
    return (
        <li
            className={`log-entry log-notice tone-${noticeTone(entry)}`}
            data-testid="action-notice"
            data-outcome={entry.outcome}
            data-widget={entry.widget}
            data-action={entry.action}
            data-object={entry.objectGuid ?? ""}
            data-channel={entry.channel}
            data-run={entry.run}
            data-settling={String(entry.settling)}
            data-sender={entry.sender ?? ""}
            data-data={entry.data ?? ""}
            data-fate={fate === undefined ? "" : "ranAs" in fate ? `ran #${fate.ranAs}` : "dropped"}
        >
            <span className="log-time">{formatTime(entry.at)}</span>
            <span className="log-main">
                <strong>{entry.action}</strong>
                <span className="muted"> {entry.widget ? `in ${entry.widget}` : "to every page"}</span>
                <span className={`tag tag-${noticeTone(entry)}`}>{label}</span>
                <Source objects={props.objects} entry={entry} />
                <span className="log-why">{explainNotice(entry, props.context)}</span>
                {fate ? (
                    <span className={`log-fate ${"ranAs" in fate ? "fate-ran" : "fate-dropped"}`}>
                        → {describeFate(fate)}
                    </span>
                ) : null}
                <Variables sender={entry.sender} data={entry.data} />
            </span>
        </li>
    );
}

function Group(props: {
    group: LogGroup;
    current: boolean;
    objects: readonly DemoObject[];
    context: ExplainContext;
}): ReactElement {
    const { group } = props;
    const object = props.objects.find(candidate => candidate.guid === group.objectGuid);
    return (
        <li
            className={`log-group ${props.current ? "is-current" : "is-earlier"}`}
            data-testid="log-group"
            data-object={group.objectGuid}
            data-channel={group.channel}
        >
            <div className="log-group-head">
                <span className="log-group-title">
                    {props.current ? "" : "Earlier: "}
                    <b>{object?.caption ?? group.objectGuid}</b> <span className="muted">{object?.entity}</span>
                </span>
                <code className="log-group-channel">{group.channel}</code>
                <span className="muted log-group-since">shown since {formatTime(group.at)}</span>
            </div>
            {group.entries.length === 0 ? (
                <p className="empty" data-testid="log-group-empty">
                    Nothing yet for this object.
                </p>
            ) : (
                <ol className="log">
                    {[...group.entries]
                        .reverse()
                        .map(entry =>
                            entry.kind === "run" ? (
                                <RunItem key={entry.id} entry={entry} objects={props.objects} />
                            ) : (
                                <NoticeItem
                                    key={entry.id}
                                    entry={entry}
                                    objects={props.objects}
                                    context={props.context}
                                />
                            )
                        )}
                </ol>
            )}
        </li>
    );
}

export function ActionLog(props: {
    log: ActionLogState;
    objects: readonly DemoObject[];
    context: ExplainContext;
    slowMs: number;
    onClear: () => void;
}): ReactElement {
    const groups = props.log.groups;
    const empty = groups.every(group => group.entries.length === 0);
    const timing =
        props.slowMs > 0
            ? `each run takes ${props.slowMs} ms (isExecuting meanwhile)`
            : `each run ends at once, before isExecuting shows: a trailing run waits ${WIDGET_SETTLE_MS / 1000} s`;
    return (
        <section className="card card-log">
            <header className="card-head">
                <h2>Action log</h2>
                <span className="muted">{timing}</span>
                <button type="button" className="link" onClick={props.onClear} disabled={empty}>
                    Clear
                </button>
            </header>
            {empty ? (
                <p className="empty" data-testid="action-log-empty">
                    No action has run yet. Send a notification for this object.
                </p>
            ) : (
                <ol className="log-groups" id="action-log">
                    {[...groups].reverse().map((group, index) => (
                        <Group
                            key={group.id}
                            group={group}
                            current={index === 0}
                            objects={props.objects}
                            context={props.context}
                        />
                    ))}
                </ol>
            )}
        </section>
    );
}
