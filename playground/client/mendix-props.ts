/**
 * Prop values built the way the Mendix client builds them for a pluggable widget: an ObjectItem
 * whose symbol-keyed property holds the runtime object (that knows its entity), DynamicValues with a
 * status, and ActionValues with canExecute / isExecuting / execute(variables).
 */
import type { DemoObject } from "../data";

export type ValueStatus = "available" | "unavailable" | "loading";

export type DynamicValue<T> =
    | { readonly status: "available"; readonly value: T }
    | { readonly status: "unavailable"; readonly value: undefined }
    | { readonly status: "loading"; readonly value: T | undefined };

/** The runtime object (mx.lib.MxObject-like) behind an ObjectItem. */
export interface FakeMxObject {
    getEntity(): string;
    getGuid(): string;
    get(attribute: string): string | undefined;
    getAttributes(): string[];
    isA(entity: string): boolean;
}

export interface ObjectItem {
    readonly id: string;
}

/** Variables of the widget's actions (src/Listen.xml: sender, changedDate, data; values may be undefined). */
export interface ListenActionVariables {
    sender: string | undefined;
    changedDate: Date | undefined;
    data: string | undefined;
}

/** Variables of the widget's On reconnected action (`offlineSeconds` is a big.js `Big`, as Mendix passes numbers). */
export interface ReconnectedVariables {
    offlineSeconds: { toString(): string } | undefined;
    mayHaveLost: boolean | undefined;
}

export interface ActionValue<TArguments> {
    readonly canExecute: boolean;
    readonly isExecuting: boolean;
    readonly isAuthorized: boolean;
    readonly disabledDuringExecution: boolean;
    execute(args: TArguments): void;
}

/** Variables of the widget's On viewers changed action (`count` is a big.js `Big`, as Mendix passes numbers). */
export interface ViewersChangedVariables {
    count: { toString(): string } | undefined;
    names: string | undefined;
}

/** Props of the Listen widget as the Mendix client passes them (see typings/ListenProps.d.ts). */
export interface ListenWidgetProps {
    name: string;
    class: string;
    style?: Record<string, string>;
    tabIndex?: number;
    listenTo: "object" | "user" | "broadcast";
    /** Absent when the property is not configured (a widget in a layout, outside any data view). */
    objectSource?: DynamicValue<ObjectItem>;
    topic?: DynamicValue<string>;
    broadcastName: string;
    showViewers: boolean;
    viewersCaption?: DynamicValue<string>;
    onViewersChanged?: ActionValue<ViewersChangedVariables>;
    actions: Array<{ actionName: string; action?: ActionValue<ListenActionVariables> }>;
    ignoreOwn: boolean;
    delay: number;
    onConnectionLost?: ActionValue<undefined>;
    onReconnected?: ActionValue<ReconnectedVariables>;
    serverUrl?: string;
}

/** The key under which the Mendix client keeps the runtime object on an ObjectItem. */
const MX_OBJECT = Symbol("mxObject");

export function createMxObject(object: DemoObject): FakeMxObject {
    return {
        getEntity: () => object.entity,
        getGuid: () => object.guid,
        get: attribute => object.attributes.find(candidate => candidate.name === attribute)?.value,
        getAttributes: () => object.attributes.map(attribute => attribute.name),
        isA: entity => entity === object.entity
    };
}

/** An ObjectItem: `{ id }` plus the runtime object under a symbol key, like the Mendix client's items. */
export function createObjectItem(object: DemoObject): ObjectItem {
    return Object.freeze({ id: object.guid, [MX_OBJECT]: createMxObject(object) });
}

export function available<T>(value: T): DynamicValue<T> {
    return Object.freeze({ status: "available", value });
}

export function loading<T>(value?: T): DynamicValue<T> {
    return Object.freeze({ status: "loading", value });
}

export function actionValue<TArguments>(
    isExecuting: boolean,
    execute: (args: TArguments) => void,
    canExecute = true
): ActionValue<TArguments> {
    return Object.freeze({
        canExecute,
        isExecuting,
        isAuthorized: true,
        disabledDuringExecution: true,
        execute
    });
}
