import type { ReactElement } from "react";
import type { ListenPreviewProps } from "../typings/ListenProps";
import { previewCaption } from "./utils/preview";

export function preview(props: ListenPreviewProps): ReactElement {
    return (
        <div className={["widget-listen-preview", props.class].filter(Boolean).join(" ")}>
            {previewCaption(
                (props.actions ?? []).map(action => action.actionName ?? ""),
                props.listenTo,
                props.broadcastName
            )}
            {props.showViewers ? <span className="widget-listen-viewers">Also viewing: …</span> : null}
        </div>
    );
}

export function getPreviewCss(): string {
    return ".widget-listen-preview { display: inline-block; padding: 2px 6px; border: 1px dashed #999; border-radius: 4px; color: #555; font-size: 12px; } .widget-listen-preview .widget-listen-viewers { margin-left: 6px; font-style: italic; }";
}
