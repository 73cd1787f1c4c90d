import type { ObjectItem } from "mendix";

/**
 * Entity name (`Module.Entity`) of the object behind a pluggable-widget `ObjectItem`.
 *
 * The pluggable widgets API exposes only the GUID (`item.id`). The Mendix client keeps the runtime object (an
 * `mxobject` with `getEntity()`) in the item's first symbol-keyed own property. This is not a public API, so this is
 * the ONE place that relies on it; `undefined` when it is not there (then the widget asks for the Topic property).
 * Any shape that does not fit (no item, no symbol-keyed property, no `getEntity` function, a throwing one) ends in
 * the `catch`.
 */
export function getEntityName(item: ObjectItem | undefined): string | undefined {
    try {
        const runtimeObject = (item as unknown as Record<symbol, { getEntity(): unknown }>)[
            Object.getOwnPropertySymbols(item)[0]
        ];
        const entity = runtimeObject.getEntity();
        return typeof entity === "string" && entity !== "" ? entity : undefined;
    } catch {
        return undefined;
    }
}
