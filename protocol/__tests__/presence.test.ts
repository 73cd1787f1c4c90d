import { describe, expect, it } from "vitest";
import { MAX_DISPLAY_NAME_LENGTH, presenceChannelData, validateDisplayName } from "../index.js";

describe("presence members", () => {
    it("channel_data: the user name is the id; the shown name is the display name, else the user name", () => {
        expect(JSON.parse(presenceChannelData("john", "John Smith"))).toEqual({
            user_id: "john",
            user_info: { name: "John Smith" }
        });
        expect(JSON.parse(presenceChannelData("ann"))).toEqual({ user_id: "ann", user_info: { name: "ann" } });
    });

    it("bounds display names", () => {
        expect(validateDisplayName("x".repeat(MAX_DISPLAY_NAME_LENGTH))).toBeNull();
        expect(validateDisplayName("x".repeat(MAX_DISPLAY_NAME_LENGTH + 1))).toBe(
            "The display name is 201 characters long; at most 200 are allowed."
        );
    });
});
