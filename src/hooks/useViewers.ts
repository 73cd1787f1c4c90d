import Big from "big.js";
import { useEffect, useRef, useState, type RefObject } from "react";
import type { ListenContainerProps } from "../../typings/ListenProps";
import type { ConnectionManager } from "../connection";
import type { ServerEndpoints } from "../utils/endpoints";
import { getCurrentUserName } from "../utils/session";
import { otherViewers, sameViewers, viewerNames, type Viewer } from "../utils/viewers";

/** Who else views the object, as the presence channel `channel` last said; `error` when it may not be listened to. */
export interface Viewers {
    channel: string;
    viewers: Viewer[];
    error?: string;
}

/**
 * Show who else is viewing: listens to the presence channel `channel` (undefined: the mode is off) on the page's
 * shared connection, keeps the other viewers (the current user excluded, one entry per user) and runs On viewers
 * changed (`latest`, the props of the latest render) whenever that set changes. Nobody else there: no viewers.
 */
export function useViewers(
    manager: ConnectionManager,
    endpoints: ServerEndpoints | undefined,
    channel: string | undefined,
    latest: RefObject<Pick<ListenContainerProps, "onViewersChanged">>
): Viewers | undefined {
    const state = useState<Viewers>();
    const setViewers = state[1];
    // The viewers On viewers changed last told, across topics: a page that switches from an object with viewers to
    // one without tells "nobody" once the new object's members arrive.
    const told = useRef<Viewer[]>([]);

    useEffect(() => {
        if (channel === undefined || endpoints === undefined) {
            return undefined;
        }
        const unsubscribe = manager.subscribe(endpoints, channel, {
            onEvent: () => undefined,
            onStatus: status =>
                setViewers(current => ({
                    channel,
                    viewers: current?.channel === channel ? current.viewers : [],
                    error: status.state === "error" ? status.error.message : undefined
                })),
            onMembers: members => {
                const viewers = otherViewers(members, getCurrentUserName());
                setViewers({ channel, viewers });
                if (sameViewers(viewers, told.current)) {
                    return;
                }
                told.current = viewers;
                const action = latest.current.onViewersChanged;
                if (action?.canExecute) {
                    action.execute({ count: new Big(viewers.length), names: viewerNames(viewers) });
                }
            }
        });
        return unsubscribe;
    }, [manager, endpoints, channel, latest, setViewers]);

    const current = state[0];
    return current?.channel === channel ? current : undefined;
}
