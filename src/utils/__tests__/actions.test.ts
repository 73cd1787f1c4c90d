// @vitest-environment node
import { describe, expect, it } from "vitest";
import { actionListError, actionListProblems } from "../actions";
import { previewCaption } from "../preview";

describe("actionListProblems", () => {
    it("accepts distinct valid names, spaces and any character included (Pusher's event-name rules)", () => {
        expect(
            actionListProblems(["refresh", "reload", "order.changed", "Refresh order", "Bestellung ändern"])
        ).toEqual([]);
    });

    it("reports empty, reserved and duplicate names with their position", () => {
        expect(actionListProblems(["refresh", "", "pusher_internal:x", "pusher:subscribe", "refresh"])).toEqual([
            { index: 1, message: "The action name is empty." },
            { index: 2, message: expect.stringMatching(/starts with "pusher_internal:", a reserved prefix/) },
            { index: 3, message: expect.stringMatching(/starts with "pusher:", a reserved prefix/) },
            { index: 4, message: expect.stringMatching(/"refresh" is used more than once/) }
        ]);
    });

    it("reports a name used three times twice (once per extra use)", () => {
        expect(actionListProblems(["a", "a", "a"]).map(problem => problem.index)).toEqual([1, 2]);
    });

    it("summarises the problems in one message for the running widget", () => {
        expect(actionListError(["ok"])).toBeNull();
        expect(actionListError(["x", "x"])).toMatch(/action 2: The action name "x" is used more than once/);
    });
});

describe("previewCaption", () => {
    it("lists the configured action names", () => {
        expect(previewCaption(["refresh", " reload ", ""])).toBe("Listen: refresh, reload");
        expect(previewCaption([])).toBe("Listen: (no actions)");
    });
});
