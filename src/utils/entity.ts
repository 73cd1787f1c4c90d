import type { ObjectItem } from "mendix";

interface RuntimeObject {
    getEntity(): unknown;
}

function isRuntimeObject(value: unknown): value is RuntimeObject {
    return (
        value !== null && typeof value === "object" && typeof (value as Partial<RuntimeObject>).getEntity === "function"
    );
}

/**
 * Entity name (`Module.Entity`) of the object behind a pluggable-widget `ObjectItem`.
 *
 * The pluggable widgets API exposes only the GUID (`item.id`). The Mendix client keeps the runtime object (an
 * `mxobject` with `getEntity()`) in the item's first symbol-keyed own property. This is not a public API, so this is
 * the ONE place that relies on it; `undefined` when it is not there (then the widget asks for the Topic property).
 */
export function getEntityName(item: ObjectItem | undefined): string | undefined {
    if (item == null || typeof item !== "object") {
        return undefined;
    }
    try {
        const [firstSymbol] = Object.getOwnPropertySymbols(item);
        if (firstSymbol === undefined) {
            return undefined;
        }
        const runtimeObject: unknown = (item as unknown as Record<symbol, unknown>)[firstSymbol];
        if (!isRuntimeObject(runtimeObject)) {
            return undefined;
        }
        const entity = runtimeObject.getEntity();
        return typeof entity === "string" && entity.length > 0 ? entity : undefined;
    } catch {
        return undefined;
    }
}
