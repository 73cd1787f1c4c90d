import { hidePropertiesIn, type Problem, type Properties } from "@mendix/pluggable-widgets-tools";
import type { ListenPreviewProps } from "../typings/ListenProps";
import { actionListProblems } from "./utils/actions";
import { previewCaption } from "./utils/preview";
import { reservedTopicProblem } from "./utils/topic";
import { MAX_PRESENCE_TOPIC_LENGTH, validateBroadcastName, validateTopic } from "../protocol";

/** Studio Pro's structure preview nodes (the subset used here). */
interface TextProps {
    type: "Text";
    content: string;
    fontSize?: number;
    fontColor?: string;
    bold?: boolean;
    italic?: boolean;
    grow?: number;
}

interface ContainerProps {
    type: "Container" | "RowLayout";
    children: StructurePreviewProps[];
    borders?: boolean;
    borderRadius?: number;
    borderWidth?: number;
    backgroundColor?: string;
    padding?: number;
    grow?: number;
}

export type StructurePreviewProps = TextProps | ContainerProps;

/** Properties that mean nothing in the chosen mode are hidden; those that must be cleared stay for check() to name. */
export function getProperties(values: ListenPreviewProps, defaultProperties: Properties): Properties {
    if (values.listenTo !== "broadcast") {
        hidePropertiesIn(defaultProperties, values, ["broadcastName"]);
    }
    if (!values.showViewers) {
        hidePropertiesIn(defaultProperties, values, ["viewersCaption"]);
    }
    return defaultProperties;
}

/** What the modeller sees of each Listen to mode, in messages and the preview. */
const MODE_CAPTIONS = {
    object: "the object",
    user: "the current user's notifications",
    broadcast: "a broadcast"
} as const;

/** The problems of the Listen to mode and the properties that depend on it. */
function modeProblems(values: ListenPreviewProps): Problem[] {
    const problems: Problem[] = [];
    const mode = values.listenTo ?? "object";
    const hasObject = values.objectSource !== null && values.objectSource !== undefined;
    const hasTopic = (values.topic ?? "").trim() !== "";
    if (mode === "object") {
        if (!hasObject && !hasTopic) {
            problems.push({
                property: "objectSource",
                message:
                    "Select the object to listen to (usually the object of the surrounding data view), or set the Topic. To listen without an object, set Listen to: The current user's notifications or A broadcast."
            });
        }
    } else {
        const caption = MODE_CAPTIONS[mode];
        if (hasObject) {
            problems.push({
                property: "objectSource",
                message: `Listen to is ${caption}, which needs no object: clear the Object to listen (or set Listen to: The object).`
            });
        }
        if (hasTopic) {
            problems.push({
                property: "topic",
                message: `Listen to is ${caption}, which has its own topic: clear the Topic (or set Listen to: The object).`
            });
        }
        if (values.showViewers) {
            problems.push({
                property: "showViewers",
                message: `Show who else is viewing works only with Listen to: The object (the viewers of one object); Listen to is ${caption}.`
            });
        }
    }
    if (mode === "broadcast") {
        const name = (values.broadcastName ?? "").trim();
        const problem = validateBroadcastName(name);
        if (problem !== null) {
            problems.push({
                property: "broadcastName",
                message: name === "" ? "Enter the Broadcast name, for example all or maintenance." : problem
            });
        }
    }
    if (values.onViewersChanged !== null && values.onViewersChanged !== undefined && !values.showViewers) {
        problems.push({
            property: "onViewersChanged",
            message: "On viewers changed runs only with Show who else is viewing: set it to Yes, or remove the action."
        });
    }
    return problems;
}

/** A string literal typed in the Topic expression, e.g. 'Sales.Order.42' (an expression with no variables). */
function literalTopic(expression: string): string | undefined {
    const match = /^\s*'((?:[^']|'')*)'\s*$/.exec(expression);
    return match === null ? undefined : match[1].replace(/''/g, "'");
}

export function check(values: ListenPreviewProps): Problem[] {
    const problems = modeProblems(values);
    const actions = values.actions ?? [];
    if (actions.length === 0) {
        problems.push({
            property: "actions",
            message:
                "Add at least one action: the Listen widget runs it when a notification with its action name arrives."
        });
    }
    const names = actions.map(action => action.actionName ?? "");
    for (const problem of actionListProblems(names)) {
        problems.push({ property: `actions/${problem.index + 1}/actionName`, message: problem.message });
    }
    names.forEach((name, index) => {
        // Valid for Pusher, but the microflow must then send the same spaces: almost always a typing slip.
        if (name.trim() !== name && name.length > 0) {
            problems.push({
                property: `actions/${index + 1}/actionName`,
                severity: "warning",
                message: `The action name "${name}" starts or ends with a space; it only matches a notification whose action has exactly the same spaces.`
            });
        }
    });
    const topic = literalTopic(values.topic ?? "");
    if (topic !== undefined && (values.listenTo ?? "object") === "object") {
        const invalid = validateTopic(topic) ?? reservedTopicProblem(topic);
        if (invalid !== null) {
            problems.push({ property: "topic", message: invalid });
        } else if (values.showViewers && topic.length > MAX_PRESENCE_TOPIC_LENGTH) {
            problems.push({
                property: "topic",
                message: `Show who else is viewing needs a topic of at most ${MAX_PRESENCE_TOPIC_LENGTH} characters (its channel is "presence-" + the topic); this one has ${topic.length}.`
            });
        }
    }
    const delay = values.delay;
    if (delay !== null && delay !== undefined && delay < 0) {
        problems.push({ property: "delay", message: "The delay cannot be negative; use 0 to run the action at once." });
    }
    const serverUrl = (values.serverUrl ?? "").trim();
    if (serverUrl !== "" && !/^https?:\/\/[^\s/]+/i.test(serverUrl)) {
        problems.push({
            property: "serverUrl",
            message: `The Server URL "${serverUrl}" must start with https:// or http:// (or leave it empty to use this app's own address).`
        });
    }
    return problems;
}

function caption(values: ListenPreviewProps): string {
    return previewCaption(
        (values.actions ?? []).map(action => action.actionName ?? ""),
        values.listenTo,
        values.broadcastName
    );
}

export function getPreview(values: ListenPreviewProps, isDarkMode: boolean): StructurePreviewProps {
    return {
        type: "Container",
        borders: true,
        borderRadius: 4,
        padding: 4,
        backgroundColor: isDarkMode ? "#3B3B3B" : "#F5F5F5",
        children: [
            {
                type: "Text",
                content: caption(values),
                fontColor: isDarkMode ? "#DEDEDE" : "#555555",
                fontSize: 9
            }
        ]
    };
}

export function getCustomCaption(values: ListenPreviewProps): string {
    return caption(values);
}
