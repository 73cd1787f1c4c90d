import type { ReactElement } from "react";
import type { ListenPreviewProps } from "../typings/ListenProps";
import { previewCaption } from "./utils/preview";

export function preview(props: ListenPreviewProps): ReactElement {
    return (
        <div className={["widget-listen-preview", props.class].filter(Boolean).join(" ")}>
            {previewCaption((props.actions ?? []).map(action => action.actionName ?? ""))}
        </div>
    );
}

export function getPreviewCss(): string {
    return ".widget-listen-preview { display: inline-block; padding: 2px 6px; border: 1px dashed #999; border-radius: 4px; color: #555; font-size: 12px; }";
}
