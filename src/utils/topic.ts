import type { DynamicValue, ObjectItem } from "mendix";
import type { ListenContainerProps } from "../../typings/ListenProps";
import {
    BROADCAST_TOPIC_PREFIX,
    USER_TOPIC_PREFIX,
    broadcastTopic,
    channelForTopic,
    defaultTopic,
    userTopic,
    validateBroadcastName,
    validateChannel,
    validateTopic
} from "../../protocol";
import { getEntityName } from "./entity";

/** What a Listen widget listens to right now, derived from its Listen to, Object to listen and Topic properties. */
export type TopicResolution =
    | { status: "loading" }
    /** No object (e.g. an empty data view): nothing to listen to, not an error. */
    | { status: "unavailable" }
    | { status: "error"; message: string }
    | { status: "ready"; topic: string; channel: string };

/** Mendix keeps the previous value of a DynamicValue while it reloads; only a missing value is "loading". */
function isLoading(dynamic: DynamicValue<unknown> | undefined): boolean {
    return (dynamic?.status as string | undefined) === "loading";
}

/**
 * Why an object's topic may not be used: `user-` and `broadcast-` name the user and broadcast channels (the other
 * modes of Listen to). Null when it may.
 */
export function reservedTopicProblem(topic: string): string | null {
    const prefix = [USER_TOPIC_PREFIX, BROADCAST_TOPIC_PREFIX].find(reserved => topic.startsWith(reserved));
    return prefix === undefined
        ? null
        : `The topic "${topic}" starts with "${prefix}", which is reserved for the user and broadcast notifications; set Listen to, or choose another topic.`;
}

function ready(topic: string): TopicResolution {
    return { status: "ready", topic, channel: channelForTopic(topic) };
}

/**
 * Topic and channel of a widget that listens to an object: the Topic expression when it is configured, else the
 * default per-object topic `<Module.Entity>.<guid>`. Without an Object to listen the Topic alone decides.
 */
export function resolveTopic(
    objectSource: DynamicValue<ObjectItem> | undefined,
    topicExpression: DynamicValue<string> | undefined
): TopicResolution {
    const object = objectSource?.value;
    let topic: string;
    if (topicExpression !== undefined && (object !== undefined || objectSource === undefined)) {
        topic = topicExpression.value?.trim() ?? "";
        if (topic === "") {
            return isLoading(topicExpression)
                ? { status: "loading" }
                : {
                      status: "error",
                      message:
                          "The Topic expression gives an empty value for this object, so there is nothing to listen to. Change the Topic property of the Listen widget."
                  };
        }
    } else if (object === undefined) {
        return isLoading(objectSource) ? { status: "loading" } : { status: "unavailable" };
    } else {
        const entity = getEntityName(object);
        if (entity === undefined) {
            return {
                status: "error",
                message:
                    "The Listen widget cannot find out the entity of the object to listen to in this Mendix version; set the Topic property (for example 'Sales.Order.number.' + toString($currentObject/OrderNumber), the same topic the microflow notifies)."
            };
        }
        topic = defaultTopic(entity, object.id);
    }
    const problem = validateTopic(topic) ?? reservedTopicProblem(topic);
    return problem === null
        ? ready(topic)
        : { status: "error", message: `${problem} Change the Topic property of the Listen widget.` };
}

/**
 * The current user's notifications: topic `user-<encoded user name>`. `userName` is undefined while the session is
 * not known yet (`sessionKnown` false: loading) or when the Mendix client does not tell (an error).
 */
export function resolveUserTopic(userName: string | undefined, sessionKnown: boolean): TopicResolution {
    if (userName === undefined) {
        return sessionKnown
            ? {
                  status: "error",
                  message:
                      "The Listen widget cannot listen to the current user's notifications: the Mendix client does not tell who is signed in."
              }
            : { status: "loading" };
    }
    let topic: string;
    try {
        topic = userTopic(userName);
    } catch {
        // A user name with a broken character (an unpaired surrogate) has no UTF-8 form, so no channel.
        topic = "";
    }
    const problem = topic === "" ? "" : validateChannel(channelForTopic(topic));
    return problem === null
        ? ready(topic)
        : {
              status: "error",
              message: `The user name "${userName}" cannot have a notification channel (${problem || "it holds a broken character"}), so this widget cannot listen to the current user's notifications.`
          };
}

/** A broadcast: topic `broadcast-<name>`. */
export function resolveBroadcastTopic(name: string): TopicResolution {
    const problem = validateBroadcastName(name.trim());
    return problem === null
        ? ready(broadcastTopic(name.trim()))
        : { status: "error", message: `${problem} Change the Broadcast name of the Listen widget.` };
}

/** The topic of a widget for its Listen to mode. */
export function resolveListenTopic(
    props: Pick<ListenContainerProps, "listenTo" | "objectSource" | "topic" | "broadcastName">,
    userName: string | undefined,
    sessionKnown: boolean
): TopicResolution {
    switch (props.listenTo) {
        case "user":
            return resolveUserTopic(userName, sessionKnown);
        case "broadcast":
            return resolveBroadcastTopic(props.broadcastName);
        default:
            return resolveTopic(props.objectSource, props.topic);
    }
}
