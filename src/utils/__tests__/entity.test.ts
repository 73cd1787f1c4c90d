// @vitest-environment node
import { describe, expect, it } from "vitest";
import type { ObjectItem } from "mendix";
import { objectItem } from "../../__tests__/builders";
import { getEntityName } from "../entity";

describe("getEntityName", () => {
    it("reads the entity from the runtime object in the item's first symbol-keyed property", () => {
        expect(getEntityName(objectItem("42", "Sales.Order"))).toBe("Sales.Order");
    });

    it("uses the FIRST symbol-keyed property when there are several", () => {
        const item = objectItem("42", "Sales.Order");
        Object.defineProperty(item, Symbol("other"), { value: { getEntity: () => "Other.Entity" } });
        expect(getEntityName(item)).toBe("Sales.Order");
    });

    it("is undefined when the item has no symbol-keyed property", () => {
        expect(getEntityName(objectItem("42"))).toBeUndefined();
        expect(getEntityName(undefined)).toBeUndefined();
    });

    it("is undefined when the runtime object has no getEntity, or it throws or returns no name", () => {
        const withoutFunction = { id: "1" } as ObjectItem;
        Object.defineProperty(withoutFunction, Symbol("x"), { value: { entity: "Sales.Order" } });
        const throwing = { id: "2" } as ObjectItem;
        Object.defineProperty(throwing, Symbol("x"), {
            value: {
                getEntity: () => {
                    throw new Error("destroyed");
                }
            }
        });
        const empty = { id: "3" } as ObjectItem;
        Object.defineProperty(empty, Symbol("x"), { value: { getEntity: () => "" } });
        const primitive = { id: "4" } as ObjectItem;
        Object.defineProperty(primitive, Symbol("x"), { value: 7 });

        expect(getEntityName(withoutFunction)).toBeUndefined();
        expect(getEntityName(throwing)).toBeUndefined();
        expect(getEntityName(empty)).toBeUndefined();
        expect(getEntityName(primitive)).toBeUndefined();
    });
});
