import type { ReactElement } from "react";
import type { ListenContainerProps } from "../typings/ListenProps";
import { ListenStatusView } from "./components/ListenStatusView";
import { useListen } from "./hooks/useListen";
import "./ui/Listen.css";

export function Listen(props: ListenContainerProps): ReactElement {
    const status = useListen(props);
    return (
        <ListenStatusView
            status={status}
            viewersCaption={props.viewersCaption?.value}
            className={props.class}
            style={props.style}
        />
    );
}
