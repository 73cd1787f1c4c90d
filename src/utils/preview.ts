import type { ListenToEnum } from "../../typings/ListenProps";

/**
 * Caption of the widget in Studio Pro's design and structure modes: "Listen: <action names>", with the mode when it
 * is not the object: "Listen (user): refresh", "Listen (broadcast maintenance): refresh".
 */
export function previewCaption(
    actionNames: readonly string[],
    listenTo: ListenToEnum = "object",
    broadcastName = ""
): string {
    const names = actionNames.map(name => name.trim()).filter(name => name.length > 0);
    let mode = "";
    if (listenTo === "user") {
        mode = " (user)";
    } else if (listenTo === "broadcast") {
        mode = ` (broadcast ${broadcastName.trim() || "?"})`;
    }
    return `Listen${mode}: ${names.length === 0 ? "(no actions)" : names.join(", ")}`;
}
