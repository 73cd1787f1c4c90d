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
    const { state, message } = status;
    const shown = (state === "error" || state === "retrying") && message !== undefined;
    const Element = shown ? "div" : "span";
    return (
        <Element
            className={`widget-listen${className ? ` ${className}` : ""}${shown ? " widget-listen-error alert alert-danger" : ""}`}
            style={shown ? style : undefined}
            role={shown ? "alert" : undefined}
            hidden={!shown}
            aria-hidden={shown ? undefined : "true"}
            data-listen-state={state}
            data-listen-channel={status.channel ?? ""}
        >
            {shown ? message : null}
        </Element>
    );
}
