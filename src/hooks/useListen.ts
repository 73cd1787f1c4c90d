import { useContext, useEffect, useMemo, useRef, useState } from "react";
import type { ListenContainerProps } from "../../typings/ListenProps";
import { actionListError } from "../utils/actions";
import { getPageConnectionManager, type SubscriptionStatus } from "../connection";
import { createDispatcher } from "../utils/dispatcher";
import { resolveServer } from "../utils/endpoints";
import { getCurrentUserName } from "../utils/session";
import { ConnectionManagerContext } from "./connectionContext";
import { resolveTopic } from "../utils/topic";

export type ListenProps = Pick<
    ListenContainerProps,
    "name" | "objectSource" | "topic" | "actions" | "serverUrl" | "ignoreOwn" | "delay"
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
}

interface Subscription {
    base: string;
    channel: string;
    status: SubscriptionStatus;
}

function fromSubscription(status: SubscriptionStatus): ListenStatus {
    if (status.state === "subscribed" || status.state === "connecting") {
        return { state: status.state === "subscribed" ? "listening" : "connecting" };
    }
    const retryInMs = status.state === "retrying" ? status.retryInMs : undefined;
    return {
        state: status.state,
        message:
            status.error.message + (retryInMs ? ` Trying again in ${Math.max(1, Math.round(retryInMs / 1000))} s.` : "")
    };
}

/**
 * Side effects of a Listen widget: derives its topic, subscribes through the page's shared connection (or the
 * manager a `ConnectionManagerContext` provides), dispatches notifications to the configured actions and reports a
 * status for the tiny status element.
 */
export function useListen(props: ListenProps): ListenStatus {
    const manager = useContext(ConnectionManagerContext) ?? getPageConnectionManager();
    const latest = useRef(props);
    // Indexing instead of `const [a, b] = useState()`: the Mendix build would bundle a helper for array destructuring.
    const dispatcher = useState(() =>
        createDispatcher(
            name => {
                const entry = latest.current.actions.find(item => item.actionName === name);
                return entry && { action: entry.action };
            },
            () => ({
                delayMs: Math.max(0, Number(latest.current.delay) || 0),
                ignoreOwn: latest.current.ignoreOwn,
                getUserName: getCurrentUserName
            })
        )
    )[0];
    const subscriptionState = useState<Subscription>();
    const subscription = subscriptionState[0];
    const setSubscription = subscriptionState[1];

    useEffect(() => {
        latest.current = props;
        dispatcher.update();
    });

    const server = useMemo(() => resolveServer(props.serverUrl), [props.serverUrl]);
    const endpoints = server.ok ? server.endpoints : undefined;
    // Cheap enough for every render: a few names checked against a pattern.
    const configError = server.ok ? actionListError(props.actions.map(item => item.actionName)) : server.message;
    const resolution = resolveTopic(props.objectSource, props.topic);
    const channel = configError === null && resolution.status === "ready" ? resolution.channel : undefined;

    useEffect(() => {
        if (channel === undefined || endpoints === undefined) {
            return undefined;
        }
        const base = endpoints.base;
        const unsubscribe = manager.subscribe(endpoints, channel, {
            onEvent: (action, data) => dispatcher.dispatch(action, data),
            onStatus: status => setSubscription({ base, channel, status })
        });
        return () => {
            unsubscribe();
            dispatcher.reset();
        };
    }, [manager, endpoints, channel, dispatcher, setSubscription]);

    useEffect(() => () => dispatcher.reset(), [dispatcher]);

    const status: ListenStatus =
        configError !== null
            ? { state: "error", message: configError }
            : resolution.status === "ready"
              ? {
                    ...(subscription?.channel === resolution.channel && subscription.base === endpoints?.base
                        ? fromSubscription(subscription.status)
                        : { state: "connecting" }),
                    channel: resolution.channel
                }
              : resolution.status === "error"
                ? { state: "error", message: resolution.message }
                : { state: resolution.status === "loading" ? "loading" : "idle" };

    const { state, message } = status;
    const name = props.name;
    useEffect(() => {
        if ((state === "error" || state === "retrying") && message !== undefined) {
            console.error(`Listen widget "${name}": ${message}`);
        }
    }, [state, message, name]);

    return status;
}
