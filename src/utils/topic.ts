import type { DynamicValue, ObjectItem } from "mendix";
import { channelForTopic, defaultTopic, validateTopic } from "../../protocol";
import { getEntityName } from "./entity";

/** What a Listen widget listens to right now, derived from its Object to listen and Topic properties. */
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
 * Topic and channel of a widget: the Topic expression when it is configured, else the default per-object topic
 * `<Module.Entity>.<guid>`.
 */
export function resolveTopic(
    objectSource: DynamicValue<ObjectItem> | undefined,
    topicExpression: DynamicValue<string> | undefined
): TopicResolution {
    const object = objectSource?.value;
    if (object === undefined) {
        return isLoading(objectSource) ? { status: "loading" } : { status: "unavailable" };
    }
    let topic: string;
    if (topicExpression !== undefined) {
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
    const problem = validateTopic(topic);
    return problem === null
        ? { status: "ready", topic, channel: channelForTopic(topic) }
        : { status: "error", message: `${problem} Change the Topic property of the Listen widget.` };
}
