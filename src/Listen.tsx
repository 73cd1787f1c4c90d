import { useContext, type ReactElement } from "react";
import type { ListenContainerProps } from "../typings/ListenProps";
import { ListenStatusView } from "./components/ListenStatusView";
import { ConnectionManagerContext, resolveManager } from "./hooks/connectionContext";
import { useListen } from "./hooks/useListen";

export function Listen(props: ListenContainerProps): ReactElement {
    const manager = resolveManager(useContext(ConnectionManagerContext));
    const status = useListen(props, manager);
    return <ListenStatusView status={status} className={props.class} style={props.style} />;
}
