import { describe, expect, it } from "vitest";
import { decodeClientMessage, encodeError, encodeFrame, encodeJsonFrame } from "../frames";

describe("frames", () => {
    it("encodes server frames with data as a JSON string, equal to JSON.stringify of the same object", () => {
        const data = '{"entity":"Sales.Order","data":"ü \\" 🚀"}';
        expect(encodeFrame("refresh", data, "private-a")).toBe(
            JSON.stringify({ event: "refresh", channel: "private-a", data })
        );
        expect(encodeFrame("client-x", "{}", "presence-a", "u1")).toBe(
            JSON.stringify({ event: "client-x", channel: "presence-a", user_id: "u1", data: "{}" })
        );
        expect(JSON.parse(encodeJsonFrame("pusher:pong", {}))).toEqual({ event: "pusher:pong", data: "{}" });
        expect(JSON.parse(encodeError(4300, "bad"))).toEqual({
            event: "pusher:error",
            data: JSON.stringify({ code: 4300, message: "bad" })
        });
    });

    it("decodes client frames and refuses malformed ones without throwing", () => {
        expect(decodeClientMessage('{"event":"pusher:subscribe","data":{"channel":"a"}}')).toEqual({
            ok: true,
            message: { event: "pusher:subscribe", channel: undefined, data: { channel: "a" } }
        });
        expect(decodeClientMessage('{"event":"pusher:subscribe","data":"{\\"channel\\":\\"a\\"}"}')).toMatchObject({
            ok: true,
            message: { data: { channel: "a" } }
        });
        expect(decodeClientMessage('{"event":"client-a","channel":"private-a","data":"text"}')).toMatchObject({
            ok: true,
            message: { event: "client-a", channel: "private-a", data: "text" }
        });
        for (const bad of ["", "{", "null", "[]", "1", '{"event":1}', '{"event":""}', '{"event":"x","channel":2}']) {
            expect(decodeClientMessage(bad)).toMatchObject({ ok: false, error: expect.any(String) });
        }
        expect(decodeClientMessage('{"event":"pusher:subscribe","data":"{oops"}')).toMatchObject({ ok: false });
    });
});
