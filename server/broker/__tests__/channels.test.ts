import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChannelRegistry } from "../channels";
import { parseChannelData, PresenceRegistry } from "../presence";

describe("ChannelRegistry", () => {
    it("subscribes, reports and unsubscribes, removing empty channels", () => {
        const registry = new ChannelRegistry<string>();
        expect(registry.subscribe("a", "s1")).toBe(true);
        expect(registry.subscribe("a", "s1")).toBe(false);
        expect(registry.subscribe("a", "s2")).toBe(true);
        expect(registry.subscribe("b", "s1")).toBe(true);
        expect(registry.subscriptions).toBe(3);
        expect(registry.channelCount).toBe(2);
        expect([...(registry.subscribers("a") ?? [])]).toEqual(["s1", "s2"]);
        expect([...registry.channelsOf("s1")]).toEqual(["a", "b"]);
        expect(registry.isSubscribed("b", "s2")).toBe(false);

        expect(registry.unsubscribe("b", "s1")).toBe(true);
        expect(registry.unsubscribe("b", "s1")).toBe(false);
        expect(registry.subscribers("b")).toBeUndefined();
        expect(registry.channelCount).toBe(1);
        expect(registry.subscriberCount("a")).toBe(2);
    });

    it("removes a member from every channel at once", () => {
        const registry = new ChannelRegistry<object>();
        const one = {};
        const two = {};
        registry.subscribe("a", one);
        registry.subscribe("b", one);
        registry.subscribe("b", two);
        expect(registry.removeMember(one).sort()).toEqual(["a", "b"]);
        expect(registry.removeMember(one)).toEqual([]);
        expect(registry.channelCount).toBe(1);
        expect(registry.subscriptions).toBe(1);
        expect(registry.memberCount).toBe(1);
        expect([...registry.channelNames()]).toEqual(["b"]);
    });

    it("stays consistent with a simple model under random operations and ends empty", () => {
        const op = fc.record({
            kind: fc.constantFrom("subscribe", "unsubscribe", "remove"),
            channel: fc.constantFrom("a", "b", "c", "d"),
            member: fc.integer({ min: 0, max: 5 })
        });
        fc.assert(
            fc.property(fc.array(op, { maxLength: 200 }), ops => {
                const registry = new ChannelRegistry<number>();
                const model = new Set<string>();
                for (const { kind, channel, member } of ops) {
                    const id = `${channel}|${member}`;
                    if (kind === "subscribe") {
                        expect(registry.subscribe(channel, member)).toBe(!model.has(id));
                        model.add(id);
                    } else if (kind === "unsubscribe") {
                        expect(registry.unsubscribe(channel, member)).toBe(model.has(id));
                        model.delete(id);
                    } else {
                        registry.removeMember(member);
                        for (const entry of [...model]) {
                            if (entry.endsWith(`|${member}`)) {
                                model.delete(entry);
                            }
                        }
                    }
                    expect(registry.subscriptions).toBe(model.size);
                    expect(registry.channelCount).toBe(new Set([...model].map(entry => entry.split("|")[0])).size);
                }
                for (let member = 0; member <= 5; member++) {
                    registry.removeMember(member);
                }
                expect(registry.subscriptions).toBe(0);
                expect(registry.channelCount).toBe(0);
                expect(registry.memberCount).toBe(0);
            }),
            { numRuns: 100 }
        );
    });
});

describe("PresenceRegistry", () => {
    it("announces a user once across sockets and removes them after the last socket", () => {
        const presence = new PresenceRegistry();
        expect(presence.join("presence-r", { userId: "u1", userInfo: { name: "A" } })).toBe(true);
        expect(presence.join("presence-r", { userId: "u1", userInfo: { name: "A" } })).toBe(false);
        expect(presence.join("presence-r", { userId: "u2", userInfo: undefined })).toBe(true);
        expect(presence.snapshot("presence-r")).toEqual({
            presence: { ids: ["u1", "u2"], hash: { u1: { name: "A" }, u2: null }, count: 2 }
        });
        expect(presence.leave("presence-r", "u1")).toBe(false);
        expect(presence.userCount("presence-r")).toBe(2);
        expect(presence.leave("presence-r", "u1")).toBe(true);
        expect(presence.leave("presence-r", "u1")).toBe(false);
        expect(presence.leave("presence-r", "u2")).toBe(true);
        expect(presence.channelCount).toBe(0);
        expect(presence.snapshot("presence-r")).toEqual({ presence: { ids: [], hash: {}, count: 0 } });
    });

    it("parses channel_data and refuses unusable values", () => {
        expect(parseChannelData('{"user_id":"7","user_info":{"a":1}}')).toEqual({ userId: "7", userInfo: { a: 1 } });
        expect(parseChannelData('{"user_id":7}')).toEqual({ userId: "7", userInfo: undefined });
        expect(parseChannelData('{"user_id":""}')).toBeNull();
        expect(parseChannelData("[]")).toBeNull();
        expect(parseChannelData("nope")).toBeNull();
        expect(parseChannelData('{"user_info":{}}')).toBeNull();
    });
});
