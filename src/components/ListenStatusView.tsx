import type { CSSProperties, ReactElement } from "react";
import type { ListenStatus } from "../hooks/useListen";

export interface ListenStatusViewProps {
    status: ListenStatus;
    /** The text before the list of other viewers (Viewers caption). */
    viewersCaption?: string;
    className?: string;
    style?: CSSProperties;
}

/**
 * Invisible in normal operation: an empty hidden span whose data attributes tell tests (and curious developers) what
 * the widget is doing. With Show who else is viewing and other viewers: a small list of their names, with the same
 * data attributes. On a configuration or authorization problem: a short inline message.
 */
export function ListenStatusView({ status, viewersCaption, className, style }: ListenStatusViewProps): ReactElement {
    const classes = ["widget-listen", className].filter(Boolean).join(" ");
    const data = { "data-listen-state": status.state, "data-listen-channel": status.channel ?? "" };
    const viewers = status.viewers ?? [];
    if ((status.state === "error" || status.state === "retrying") && status.message !== undefined) {
        return (
            <div className={`${classes} widget-listen-error alert alert-danger`} style={style} role="alert" {...data}>
                {status.message}
            </div>
        );
    }
    if (viewers.length > 0) {
        return (
            <div className={`${classes} widget-listen-viewers`} style={style} {...data}>
                {viewersCaption ? <span className="widget-listen-viewers-caption">{viewersCaption}</span> : null}
                <ul className="widget-listen-viewer-list">
                    {viewers.map(viewer => (
                        <li key={viewer.user} className="widget-listen-viewer" data-user={viewer.user}>
                            {viewer.name}
                        </li>
                    ))}
                </ul>
            </div>
        );
    }
    return <span className={classes} hidden aria-hidden="true" {...data} />;
}
