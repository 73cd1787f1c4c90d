import { describe, expect, it } from "vitest";
import { CHANNEL_KINDS, channelKind } from "../metrics.js";

describe("channelKind: the kind label of a channel", () => {
    it("follows protocol's describeChannel; object channels keep the label private", () => {
        expect(channelKind("private-Sales.Order.1")).toBe("private");
        expect(channelKind("presence-Sales.Order.1")).toBe("presence");
        expect(channelKind("private-user-Mary=20Jones")).toBe("user");
        expect(channelKind("private-broadcast-all")).toBe("broadcast");
        expect(channelKind("news")).toBe("public");
    });

    it("counts channels this server would not sign by their prefix", () => {
        expect(channelKind("private-user-=6Aohn")).toBe("private");
        expect(channelKind("private-encrypted-x")).toBe("private");
        expect(channelKind("presence-user-john")).toBe("presence");
    });

    it("has a label value for every kind it gives", () => {
        expect(CHANNEL_KINDS).toEqual(["private", "presence", "user", "broadcast", "public"]);
    });
});
