import type { CSSProperties, ReactElement } from "react";
import type { ListenStatus } from "../hooks/useListen";

export interface ListenStatusViewProps {
    status: ListenStatus;
    className?: string;
    style?: CSSProperties;
}

/**
 * Invisible in normal operation: an empty hidden span whose data attributes tell tests (and curious developers) what
 * the widget is doing. On a configuration or authorization problem: a short inline message.
 */
export function ListenStatusView({ status, className, style }: ListenStatusViewProps): ReactElement {
    const classes = ["widget-listen", className].filter(Boolean).join(" ");
    const channel = status.channel ?? "";
    if ((status.state === "error" || status.state === "retrying") && status.message !== undefined) {
        return (
            <div
                className={`${classes} widget-listen-error alert alert-danger`}
                style={style}
                role="alert"
                data-listen-state={status.state}
                data-listen-channel={channel}
            >
                {status.message}
            </div>
        );
    }
    return (
        <span
            className={classes}
            hidden
            aria-hidden="true"
            data-listen-state={status.state}
            data-listen-channel={channel}
        />
    );
}
