import type { ReactElement } from "react";
import type { ListenContainerProps } from "../typings/ListenProps";
import { ListenStatusView } from "./components/ListenStatusView";
import { useListen } from "./hooks/useListen";

export function Listen(props: ListenContainerProps): ReactElement {
    return <ListenStatusView status={useListen(props)} className={props.class} style={props.style} />;
}
