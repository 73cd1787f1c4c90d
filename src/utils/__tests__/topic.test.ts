// @vitest-environment node
import { describe, expect, it } from "vitest";
import { dynamic, loading, objectItem, objectSource, unavailable } from "../../__tests__/builders";
import { resolveBroadcastTopic, resolveListenTopic, resolveTopic, resolveUserTopic } from "../topic";

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

describe("resolveTopic without an Object to listen", () => {
    it("listens to the Topic alone when no object source is configured", () => {
        expect(resolveTopic(undefined, dynamic("Sales.Order.number.1001"))).toEqual({
            status: "ready",
            topic: "Sales.Order.number.1001",
            channel: "private-Sales.Order.number.1001"
        });
    });

    it("has nothing to listen to with neither object nor Topic", () => {
        expect(resolveTopic(undefined, undefined)).toEqual({ status: "unavailable" });
    });

    it("refuses topics with the reserved prefixes user- and broadcast-", () => {
        for (const topic of ["user-mary", "broadcast-all"]) {
            const result = resolveTopic(undefined, dynamic(topic));
            expect(result.status === "error" && result.message).toMatch(/is reserved for the user and broadcast/);
        }
    });
});

describe("resolveUserTopic", () => {
    it("listens to private-user-<encoded user name>", () => {
        expect(resolveUserTopic("mary", true)).toEqual({
            status: "ready",
            topic: "user-mary",
            channel: "private-user-mary"
        });
        expect(resolveUserTopic("Mary Jones", true)).toMatchObject({ channel: "private-user-Mary=20Jones" });
        expect(resolveUserTopic("józef", true)).toMatchObject({ channel: "private-user-j=C3=B3zef" });
    });

    it("waits for the session, then says when the Mendix client does not tell who is signed in", () => {
        expect(resolveUserTopic(undefined, false)).toEqual({ status: "loading" });
        const result = resolveUserTopic(undefined, true);
        expect(result.status === "error" && result.message).toMatch(/does not tell who is signed in/);
    });

    it("refuses a user name whose channel would exceed 164 characters, and one with a broken character", () => {
        expect(resolveUserTopic("a".repeat(151), true)).toMatchObject({ status: "ready" });
        const long = resolveUserTopic("a".repeat(152), true);
        expect(long.status === "error" && long.message).toMatch(/at most 164/);
        const broken = resolveUserTopic("a\uD800", true);
        expect(broken.status === "error" && broken.message).toMatch(/broken character/);
    });
});

describe("resolveBroadcastTopic and resolveListenTopic", () => {
    it("listens to private-broadcast-<name>", () => {
        expect(resolveBroadcastTopic("maintenance")).toEqual({
            status: "ready",
            topic: "broadcast-maintenance",
            channel: "private-broadcast-maintenance"
        });
        expect(resolveBroadcastTopic(" all ")).toMatchObject({ channel: "private-broadcast-all" });
    });

    it("refuses an empty or invalid broadcast name", () => {
        const empty = resolveBroadcastTopic("");
        expect(empty.status === "error" && empty.message).toMatch(
            /broadcast name is empty.*Broadcast name of the Listen/
        );
        const invalid = resolveBroadcastTopic("new version");
        expect(invalid.status === "error" && invalid.message).toMatch(/characters that are not allowed/);
    });

    it("picks the topic of the Listen to mode, ignoring the object outside object mode", () => {
        const props = { objectSource: objectSource("1", "Sales.Order"), topic: undefined, broadcastName: "all" };
        expect(resolveListenTopic({ ...props, listenTo: "object" }, "mary", true)).toMatchObject({
            channel: "private-Sales.Order.1"
        });
        expect(resolveListenTopic({ ...props, listenTo: "user" }, "mary", true)).toMatchObject({
            channel: "private-user-mary"
        });
        expect(resolveListenTopic({ ...props, listenTo: "broadcast" }, "mary", true)).toMatchObject({
            channel: "private-broadcast-all"
        });
    });
});
