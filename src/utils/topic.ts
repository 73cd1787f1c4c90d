import type { DynamicValue, ObjectItem } from "mendix";
import { channelForTopic, defaultTopic, validateTopic } from "./protocol";
import { getEntityName } from "./entity";

/** What a Listen widget listens to right now, derived from its Object to listen and Topic properties. */
export type TopicResolution =
    | { status: "loading" }
    /** No object (e.g. an empty data view): nothing to listen to, not an error. */
    | { status: "unavailable" }
    | { status: "error"; message: string }
    | { status: "ready"; topic: string; channel: string };

/** Value of a DynamicValue, keeping the previous value while it is loading (Mendix keeps it there). */
function currentValue<T>(dynamic: DynamicValue<T> | undefined): { loading: boolean; value: T | undefined } {
    if (dynamic === undefined) {
        return { loading: false, value: undefined };
    }
    return { loading: (dynamic.status as string) === "loading", value: dynamic.value };
}

function ready(topic: string): TopicResolution {
    const problem = validateTopic(topic);
    if (problem !== null) {
        return { status: "error", message: `${problem} Change the Topic property of the Listen widget.` };
    }
    return { status: "ready", topic, channel: channelForTopic(topic) };
}

/**
 * Topic and channel of a widget: the Topic expression when it is configured, else the default per-object topic
 * `<Module.Entity>.<guid>`.
 */
export function resolveTopic(
    objectSource: DynamicValue<ObjectItem> | undefined,
    topicExpression: DynamicValue<string> | undefined
): TopicResolution {
    const object = currentValue(objectSource);
    if (object.value === undefined) {
        return object.loading ? { status: "loading" } : { status: "unavailable" };
    }

    if (topicExpression !== undefined) {
        const topic = currentValue(topicExpression);
        if (topic.value === undefined || topic.value.trim() === "") {
            if (topic.loading) {
                return { status: "loading" };
            }
            return {
                status: "error",
                message:
                    "The Topic expression gives an empty value for this object, so there is nothing to listen to. Change the Topic property of the Listen widget."
            };
        }
        return ready(topic.value.trim());
    }

    const entity = getEntityName(object.value);
    if (entity === undefined) {
        return {
            status: "error",
            message:
                "The Listen widget cannot find out the entity of the object to listen to in this Mendix version; set the Topic property (for example 'Sales.Order.number.' + toString($currentObject/OrderNumber), the same topic the microflow notifies)."
        };
    }
    return ready(defaultTopic(entity, object.value.id));
}
