import type { Problem, Properties } from "@mendix/pluggable-widgets-tools";
import type { ListenPreviewProps } from "../typings/ListenProps";
import { actionListProblems } from "./utils/actions";
import { previewCaption } from "./utils/preview";
import { validateTopic } from "../protocol";

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

export function getProperties(_values: ListenPreviewProps, defaultProperties: Properties): Properties {
    return defaultProperties;
}

/** A string literal typed in the Topic expression, e.g. 'Sales.Order.42' (an expression with no variables). */
function literalTopic(expression: string): string | undefined {
    const match = /^\s*'((?:[^']|'')*)'\s*$/.exec(expression);
    return match === null ? undefined : match[1].replace(/''/g, "'");
}

export function check(values: ListenPreviewProps): Problem[] {
    const problems: Problem[] = [];
    if (values.objectSource === null || values.objectSource === undefined) {
        problems.push({
            property: "objectSource",
            message: "Select the object to listen to (usually the object of the surrounding data view)."
        });
    }
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
    if (topic !== undefined) {
        const invalid = validateTopic(topic);
        if (invalid !== null) {
            problems.push({ property: "topic", message: invalid });
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
                content: previewCaption((values.actions ?? []).map(action => action.actionName ?? "")),
                fontColor: isDarkMode ? "#DEDEDE" : "#555555",
                fontSize: 9
            }
        ]
    };
}

export function getCustomCaption(values: ListenPreviewProps): string {
    return previewCaption((values.actions ?? []).map(action => action.actionName ?? ""));
}
