import Big from "big.js";
import { useContext, useEffect, useMemo, useRef, useState } from "react";
import type { ListenContainerProps } from "../../typings/ListenProps";
import { DISPATCH_EVENT, type DispatchEventDetail } from "../../protocol/trace";
import { presenceChannelForTopic, validateChannel } from "../../protocol";
import { getPageConnectionManager, type SubscriptionStatus } from "../connection";
import { actionListError } from "../utils/actions";
import { createDispatcher, type ActionLookup, type DispatcherOptions } from "../utils/dispatcher";
import { resolveServer } from "../utils/endpoints";
import { getCurrentUserName, sessionModuleLoaded } from "../utils/session";
import { resolveListenTopic, type TopicResolution } from "../utils/topic";
import type { Viewer } from "../utils/viewers";
import { ConnectionManagerContext } from "./connectionContext";
import { useViewers } from "./useViewers";

export type ListenProps = Pick<
    ListenContainerProps,
    | "name"
    | "listenTo"
    | "objectSource"
    | "topic"
    | "broadcastName"
    | "showViewers"
    | "onViewersChanged"
    | "actions"
    | "serverUrl"
    | "ignoreOwn"
    | "delay"
    | "onConnectionLost"
    | "onReconnected"
>;

/**
 * idle: nothing to listen to (no object); loading: waiting for the object or topic; connecting: subscribing;
 * listening: subscribed; retrying: a temporary failure, trying again; error: needs a fix (message says which).
 */
export type ListenState = "idle" | "loading" | "connecting" | "listening" | "retrying" | "error";

export interface ListenStatus {
    state: ListenState;
    /** The channel listened to, once the topic is known. */
    channel?: string;
    /** Set for "error" and "retrying": what is wrong, for the modeller or the user. */
    message?: string;
    /** Show who else is viewing: the other viewers, once the presence channel told them. */
    viewers?: Viewer[];
}

/** What the connection last said about a channel on a server. */
interface Subscription {
    base: string;
    channel: string;
    status: SubscriptionStatus;
}

/** When the next try comes, for a person: nothing when unknown, "now" while it runs. */
function retryHint(retryInMs: number | undefined): string {
    if (retryInMs === undefined) {
        return "";
    }
    return retryInMs > 0 ? ` Trying again in ${Math.max(1, Math.round(retryInMs / 1000))} s.` : " Trying again now.";
}

/** The widget's status for what the connection says about its channel. */
function fromSubscription(status: SubscriptionStatus): ListenStatus {
    switch (status.state) {
        case "connecting":
            return { state: "connecting" };
        case "subscribed":
            return { state: "listening" };
        case "retrying": {
            return { state: "retrying", message: status.error.message + retryHint(status.retryInMs) };
        }
        case "error":
            return { state: "error", message: status.error.message };
    }
}

/**
 * The widget's status: a configuration error first, then what the topic says, then what the connection says about
 * the channel (`subscription`, undefined until it said something about this channel).
 */
function widgetStatus(
    configError: string | null,
    resolution: TopicResolution,
    subscription: SubscriptionStatus | undefined
): ListenStatus {
    if (configError !== null) {
        return { state: "error", message: configError };
    }
    switch (resolution.status) {
        case "loading":
            return { state: "loading" };
        case "unavailable":
            return { state: "idle" };
        case "error":
            return { state: "error", message: resolution.message };
        case "ready": {
            const current: ListenStatus =
                subscription === undefined ? { state: "connecting" } : fromSubscription(subscription);
            return { ...current, channel: resolution.channel };
        }
    }
}

/**
 * Side effects of a Listen widget: derives its topic, subscribes through the page's shared connection (or the
 * manager a `ConnectionManagerContext` provides), dispatches notifications to the configured actions and reports a
 * status for the tiny status element.
 */
export function useListen(props: ListenProps): ListenStatus {
    const manager = useContext(ConnectionManagerContext) ?? getPageConnectionManager();
    // The dispatcher lives as long as the widget and reads the props of the latest render through `latest`.
    // (The state tuples are read by index, not as `const [a, b] = useState()`: for Safari 12 the Mendix build turns
    // array destructuring into a 700-byte helper, and the widget's bundle budget is tight.)
    const latest = useRef(props);
    // The channel listened to, for the trace events.
    const listening = useRef("");
    const dispatcher = useState(() => {
        const lookup: ActionLookup = name => {
            const entry = latest.current.actions.find(item => item.actionName === name);
            return entry === undefined ? undefined : { action: entry.action };
        };
        const options = (): DispatcherOptions => ({
            delayMs: Math.max(0, Number(latest.current.delay) || 0),
            ignoreOwn: latest.current.ignoreOwn,
            getUserName: getCurrentUserName,
            // Every decision as an event on document, for diagnostics (protocol/trace.ts; the playground's log).
            trace: trace => {
                const detail: DispatchEventDetail = { widget: latest.current.name, channel: listening.current, trace };
                document.dispatchEvent(new CustomEvent(DISPATCH_EVENT, { detail }));
            }
        });
        return createDispatcher(lookup, options);
    })[0];
    const subscriptionState = useState<Subscription>();
    const subscription = subscriptionState[0];
    const setSubscription = subscriptionState[1];
    // The current user's name may come from mendix/session, which loads after the first render.
    const sessionState = useState(false);
    const sessionKnown = sessionState[0];
    const setSessionKnown = sessionState[1];
    useEffect(() => {
        void sessionModuleLoaded.then(() => setSessionKnown(true));
    }, [setSessionKnown]);

    useEffect(() => {
        latest.current = props;
        dispatcher.update();
    });

    const server = useMemo(() => resolveServer(props.serverUrl), [props.serverUrl]);
    const endpoints = server.ok ? server.endpoints : undefined;
    // Cheap enough for every render: a few names checked against the action rules.
    const configError = server.ok ? actionListError(props.actions.map(item => item.actionName)) : server.message;
    const resolution = resolveListenTopic(props, getCurrentUserName(), sessionKnown);
    const channel = configError === null && resolution.status === "ready" ? resolution.channel : undefined;
    // Show who else is viewing: the presence channel of the object's topic, beside the action channel.
    const presence =
        props.showViewers &&
        (props.listenTo ?? "object") === "object" &&
        channel !== undefined &&
        resolution.status === "ready"
            ? presenceChannelForTopic(resolution.topic)
            : undefined;
    const presenceProblem = presence === undefined ? null : validateChannel(presence);
    const viewers = useViewers(manager, endpoints, presenceProblem === null ? presence : undefined, latest);

    useEffect(() => {
        if (channel === undefined || endpoints === undefined) {
            return undefined;
        }
        const base = endpoints.base;
        listening.current = channel;
        const unsubscribe = manager.subscribe(endpoints, channel, {
            onEvent: (action, data) => dispatcher.dispatch(action, data),
            onStatus: status => setSubscription({ base, channel, status }),
            // The connection events of the latest props, when configured and allowed.
            onLost: () => {
                const action = latest.current.onConnectionLost;
                if (action?.canExecute) {
                    action.execute();
                }
            },
            onReconnected: ({ offlineMs, mayHaveLost }) => {
                const action = latest.current.onReconnected;
                if (action?.canExecute) {
                    action.execute({ offlineSeconds: new Big(Math.round(offlineMs / 1000)), mayHaveLost });
                }
            }
        });
        return () => {
            unsubscribe();
            dispatcher.reset();
        };
    }, [manager, endpoints, channel, dispatcher, setSubscription]);

    useEffect(() => () => dispatcher.reset(), [dispatcher]);

    // What the connection said about another channel or server (before a topic change) does not count.
    const current =
        subscription !== undefined && subscription.channel === channel && subscription.base === endpoints?.base
            ? subscription.status
            : undefined;
    let status = widgetStatus(configError, resolution, current);
    const viewersError = presenceProblem === null ? viewers?.error : `${presenceProblem} (Show who else is viewing)`;
    if (viewersError !== undefined && status.state === "listening") {
        status = { ...status, state: "error", message: viewersError };
    }
    if (presence !== undefined) {
        status.viewers = viewers?.viewers ?? [];
    }

    const { state, message } = status;
    const name = props.name;
    useEffect(() => {
        if ((state === "error" || state === "retrying") && message !== undefined) {
            console.error(`Listen widget "${name}": ${message}`);
        }
    }, [state, message, name]);

    return status;
}
