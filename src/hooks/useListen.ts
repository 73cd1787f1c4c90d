import { useEffect, useMemo, useRef, useState } from "react";
import type { ListenContainerProps } from "../../typings/ListenProps";
import { actionListError } from "../utils/actions";
import type { ConnectionManager, SubscriptionStatus } from "../utils/connection";
import { Dispatcher, type DispatcherOptions } from "../utils/dispatcher";
import { resolveServer } from "../utils/server";
import { getCurrentUserName } from "../utils/session";
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
    topic?: string;
    channel?: string;
    /** Set for "error" and "retrying": what is wrong, for the modeller or the user. */
    message?: string;
}

interface Subscription {
    base: string;
    channel: string;
    status: SubscriptionStatus;
}

function fromSubscription(status: SubscriptionStatus): Pick<ListenStatus, "state" | "message"> {
    switch (status.state) {
        case "connecting":
            return { state: "connecting" };
        case "subscribed":
            return { state: "listening" };
        case "retrying": {
            const retry =
                status.retryInMs !== undefined
                    ? ` Trying again in ${Math.max(1, Math.round(status.retryInMs / 1000))} s.`
                    : "";
            return { state: "retrying", message: status.error.message + retry };
        }
        case "error":
            return { state: "error", message: status.error.message };
    }
}

/**
 * Side effects of a Listen widget: derives its topic, subscribes through the page's shared connection, dispatches
 * notifications to the configured actions and reports a status for the tiny status element.
 */
export function useListen(props: ListenProps, manager: ConnectionManager): ListenStatus {
    const latest = useRef(props);
    const [dispatcher] = useState(
        () =>
            new Dispatcher(
                name => {
                    const entry = latest.current.actions.find(item => item.actionName === name);
                    return entry === undefined ? undefined : { action: entry.action };
                },
                (): DispatcherOptions => ({
                    delayMs: Math.max(0, Number(latest.current.delay) || 0),
                    ignoreOwn: latest.current.ignoreOwn,
                    getUserName: getCurrentUserName
                })
            )
    );
    const [subscription, setSubscription] = useState<Subscription | undefined>(undefined);

    useEffect(() => {
        latest.current = props;
        dispatcher.update();
    });

    const server = useMemo(() => resolveServer(props.serverUrl), [props.serverUrl]);
    const endpoints = server.ok ? server.endpoints : undefined;
    // A string key, so the list is re-checked only when the names change (props arrive as new arrays each render).
    const actionNamesKey = JSON.stringify(props.actions.map(item => item.actionName));
    const actionsError = useMemo(() => actionListError(JSON.parse(actionNamesKey) as string[]), [actionNamesKey]);
    const configError = !server.ok ? server.message : actionsError;
    const resolution = resolveTopic(props.objectSource, props.topic);
    const channel = configError === null && resolution.status === "ready" ? resolution.channel : undefined;

    useEffect(() => {
        if (channel === undefined || endpoints === undefined) {
            return undefined;
        }
        const base = endpoints.base;
        const unsubscribe = manager.subscribe(endpoints, channel, {
            onEvent: (action, data) => {
                dispatcher.dispatch(action, data);
            },
            onStatus: status => setSubscription({ base, channel, status })
        });
        return () => {
            unsubscribe();
            dispatcher.reset();
        };
    }, [manager, endpoints, channel, dispatcher]);

    useEffect(() => () => dispatcher.reset(), [dispatcher]);

    let status: ListenStatus;
    if (configError !== null) {
        status = { state: "error", message: configError };
    } else if (resolution.status === "loading") {
        status = { state: "loading" };
    } else if (resolution.status === "unavailable") {
        status = { state: "idle" };
    } else if (resolution.status === "error") {
        status = { state: "error", message: resolution.message };
    } else {
        const current =
            subscription !== undefined &&
            subscription.channel === resolution.channel &&
            subscription.base === endpoints?.base
                ? fromSubscription(subscription.status)
                : { state: "connecting" as const };
        status = { ...current, topic: resolution.topic, channel: resolution.channel };
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
