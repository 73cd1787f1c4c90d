/**
 * This file was generated from Listen.xml
 * WARNING: All changes made to this file will be overwritten
 * @author Mendix Widgets Framework Team
 */
import { ActionValue, DynamicValue, ObjectItem, Option } from "mendix";
import { Big } from "big.js";
import { CSSProperties } from "react";

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
    objectSource: DynamicValue<ObjectItem>;
    topic?: DynamicValue<string>;
    actions: ActionsType[];
    ignoreOwn: boolean;
    delay: number;
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
    objectSource: {} | { caption: string } | { type: string } | null;
    topic: string;
    actions: ActionsPreviewType[];
    ignoreOwn: boolean;
    delay: number | null;
    onConnectionLost: {} | null;
    onReconnected: {} | null;
    serverUrl: string;
}
