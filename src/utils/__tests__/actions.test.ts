// @vitest-environment node
import { describe, expect, it } from "vitest";
import { actionListError, actionListProblems } from "../actions";
import { previewCaption } from "../preview";

describe("actionListProblems", () => {
    it("accepts distinct valid names", () => {
        expect(actionListProblems(["refresh", "reload", "order.changed"])).toEqual([]);
    });

    it("reports empty, invalid, reserved and duplicate names with their position", () => {
        expect(actionListProblems(["refresh", "", "bad name", "pusher:subscribe", "refresh"])).toEqual([
            { index: 1, message: "The action name is empty." },
            { index: 2, message: expect.stringMatching(/characters that are not allowed/) },
            { index: 3, message: expect.stringMatching(/characters that are not allowed|reserved prefix/) },
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
