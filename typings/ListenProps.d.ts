/**
 * This file was generated from Listen.xml
 * WARNING: All changes made to this file will be overwritten
 * @author Mendix Widgets Framework Team
 */
import { ActionValue, DynamicValue, ObjectItem, Option } from "mendix";
import { Big } from "big.js";
import { CSSProperties } from "react";

export type ListenToEnum = "object" | "user" | "broadcast";

export interface ActionsType {
    actionName: string;
    action?: ActionValue<{ sender: Option<string>; changedDate: Option<Date>; data: Option<string> }>;
}

export interface ActionsPreviewType {
    actionName: string;
    action: {} | null;
}

export interface ListenContainerProps {
    name: string;
    class: string;
    style?: CSSProperties;
    tabIndex?: number;
    listenTo: ListenToEnum;
    objectSource?: DynamicValue<ObjectItem>;
    topic?: DynamicValue<string>;
    broadcastName: string;
    actions: ActionsType[];
    ignoreOwn: boolean;
    delay: number;
    showViewers: boolean;
    viewersCaption?: DynamicValue<string>;
    onViewersChanged?: ActionValue<{ count: Option<Big>; names: Option<string> }>;
    onConnectionLost?: ActionValue;
    onReconnected?: ActionValue<{ offlineSeconds: Option<Big>; mayHaveLost: Option<boolean> }>;
    serverUrl: string;
}

export interface ListenPreviewProps {
    /**
     * @deprecated Deprecated since version 9.18.0. Please use class property instead.
     */
    className: string;
    class: string;
    style: string;
    styleObject?: CSSProperties;
    readOnly: boolean;
    renderMode: "design" | "xray" | "structure";
    translate: (text: string) => string;
    listenTo: ListenToEnum;
    objectSource: {} | { caption: string } | { type: string } | null;
    topic: string;
    broadcastName: string;
    actions: ActionsPreviewType[];
    ignoreOwn: boolean;
    delay: number | null;
    showViewers: boolean;
    viewersCaption: string;
    onViewersChanged: {} | null;
    onConnectionLost: {} | null;
    onReconnected: {} | null;
    serverUrl: string;
}
