// @vitest-environment node
import { describe, expect, it } from "vitest";
import { dynamic, loading, objectItem, objectSource, unavailable } from "../../__tests__/builders";
import { resolveTopic } from "../topic";

describe("resolveTopic", () => {
    it("derives the default topic <Module.Entity>.<guid> and its private channel", () => {
        expect(resolveTopic(objectSource("281474976710657", "Sales.Order"), undefined)).toEqual({
            status: "ready",
            topic: "Sales.Order.281474976710657",
            channel: "private-Sales.Order.281474976710657"
        });
    });

    it("uses the Topic expression instead of the default when it is configured", () => {
        expect(resolveTopic(objectSource("1", "Sales.Order"), dynamic("Sales.Order.INV-2026-001"))).toEqual({
            status: "ready",
            topic: "Sales.Order.INV-2026-001",
            channel: "private-Sales.Order.INV-2026-001"
        });
    });

    it("does not need the entity name when the Topic is set", () => {
        expect(resolveTopic(objectSource("1"), dynamic("orders"))).toMatchObject({ status: "ready", topic: "orders" });
    });

    it("asks for the Topic property when the entity name is unavailable", () => {
        const result = resolveTopic(objectSource("1"), undefined);
        expect(result.status).toBe("error");
        expect(result.status === "error" && result.message).toMatch(/set the Topic property/);
    });

    it("rejects topics with characters Pusher does not allow", () => {
        const result = resolveTopic(objectSource("1", "Sales.Order"), dynamic("order 42/items"));
        expect(result).toMatchObject({ status: "error" });
        expect(result.status === "error" && result.message).toMatch(/characters that are not allowed/);
    });

    it("rejects topics longer than a channel name allows (156 characters)", () => {
        expect(resolveTopic(objectSource("1"), dynamic("a".repeat(156)))).toMatchObject({ status: "ready" });
        const result = resolveTopic(objectSource("1"), dynamic("a".repeat(157)));
        expect(result.status === "error" && result.message).toMatch(/at most 156/);
    });

    it("reports an empty Topic value as an error", () => {
        expect(resolveTopic(objectSource("1", "A.B"), dynamic(""))).toMatchObject({ status: "error" });
        expect(resolveTopic(objectSource("1", "A.B"), dynamic("   "))).toMatchObject({ status: "error" });
    });

    it("waits while the object or the topic is loading, and keeps the previous value while reloading", () => {
        expect(resolveTopic(loading(), undefined)).toEqual({ status: "loading" });
        expect(resolveTopic(objectSource("1", "A.B"), loading<string>())).toEqual({ status: "loading" });
        expect(resolveTopic(loading(objectItem("7", "A.B")), undefined)).toMatchObject({
            status: "ready",
            topic: "A.B.7"
        });
    });

    it("has nothing to listen to without an object", () => {
        expect(resolveTopic(unavailable(), undefined)).toEqual({ status: "unavailable" });
        expect(resolveTopic(undefined, undefined)).toEqual({ status: "unavailable" });
    });
});
