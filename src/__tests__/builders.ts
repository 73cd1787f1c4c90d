/**
 * Prop builders for widget tests, shaped like the props the Mendix client gives a pluggable widget
 * (`@mendix/widget-plugin-test-utils` is not on npm).
 */
import type { ActionValue, DynamicValue, ObjectItem } from "mendix";
import type { ActionsType, ListenContainerProps } from "../../typings/ListenProps";
import type { ListenActionArgs } from "../utils/dispatcher";

export type ListenAction = ActionValue<{
    sender: string | undefined;
    changedDate: Date | undefined;
    data: string | undefined;
}>;

/** An ActionValue whose `execute` calls are recorded in `calls` (shared by copies made with `withFlags`). */
export interface RecordedAction extends ListenAction {
    readonly calls: ListenActionArgs[];
}

export function actionValue(
    flags: { canExecute?: boolean; isExecuting?: boolean } = {},
    calls: ListenActionArgs[] = []
): RecordedAction {
    return {
        canExecute: flags.canExecute ?? true,
        isExecuting: flags.isExecuting ?? false,
        calls,
        execute(args: ListenActionArgs) {
            calls.push(args);
        }
    } as RecordedAction;
}

/** A new ActionValue object for the same action with other flags, as the Mendix client passes on a re-render. */
export function withFlags(
    action: RecordedAction,
    flags: { canExecute?: boolean; isExecuting?: boolean }
): RecordedAction {
    return actionValue({ canExecute: action.canExecute, isExecuting: action.isExecuting, ...flags }, action.calls);
}

export function dynamic<T>(value: T): DynamicValue<T> {
    return { status: "available", value } as DynamicValue<T>;
}

export function loading<T>(value?: T): DynamicValue<T> {
    return { status: "loading", value } as DynamicValue<T>;
}

export function unavailable<T>(): DynamicValue<T> {
    return { status: "unavailable", value: undefined } as DynamicValue<T>;
}

/**
 * An ObjectItem like the Mendix client's: `id` is the GUID, and the runtime object that knows its entity sits in the
 * item's first symbol-keyed own property. Without `entity`, the item has no runtime object.
 */
export function objectItem(guid: string, entity?: string): ObjectItem {
    const item = { id: guid } as ObjectItem;
    if (entity !== undefined) {
        Object.defineProperty(item, Symbol("mxObject"), {
            value: { getEntity: () => entity, getGuid: () => guid },
            enumerable: false
        });
    }
    return item;
}

export function objectSource(guid: string, entity?: string): DynamicValue<ObjectItem> {
    return dynamic(objectItem(guid, entity));
}

export function actionEntry(actionName: string, action?: ListenAction): ActionsType {
    return { actionName, action };
}

export function listenProps(overrides: Partial<ListenContainerProps> = {}): ListenContainerProps {
    return {
        name: "listen1",
        class: "",
        listenTo: "object",
        objectSource: objectSource("281474976710657", "Sales.Order"),
        broadcastName: "all",
        showViewers: false,
        actions: [actionEntry("refresh", actionValue())],
        ignoreOwn: false,
        delay: 0,
        serverUrl: "",
        ...overrides
    };
}
