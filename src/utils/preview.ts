/** Caption of the widget in Studio Pro's design and structure modes: "Listen: <action names>". */
export function previewCaption(actionNames: readonly string[]): string {
    const names = actionNames.map(name => name.trim()).filter(name => name.length > 0);
    return names.length === 0 ? "Listen: (no actions)" : `Listen: ${names.join(", ")}`;
}
