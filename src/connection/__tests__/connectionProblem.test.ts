import { describe, expect, it } from "vitest";
import { ListenError } from "../../utils/errors";
import { connectionProblem, type ConnectionFacts } from "../connectionProblem";
import { channelStatus, type ConnectionProblem } from "../status";
import { endpoints } from "./helpers";

/** A healthy connection: connected, nothing refused, nothing lost. */
function facts(change: Partial<ConnectionFacts> = {}): ConnectionFacts {
    return {
        endpoints: endpoints(),
        configProblem: undefined,
        keyRefusal: undefined,
        nextKeyRoundInMs: undefined,
        socket: { status: "connected" },
        reconnectAttempts: 0,
        nextReconnectInMs: undefined,
        ...change
    };
}

const keyDown: ConnectionProblem = {
    state: "retrying",
    error: new ListenError("key-unreachable", "Cannot reach the server", { retryable: true }),
    retryInMs: 2000
};

describe("connectionProblem", () => {
    it("is nothing for a healthy connection, a socket on its way, or one lost only for a moment", () => {
        expect(connectionProblem(facts())).toBeUndefined();
        expect(connectionProblem(facts({ socket: undefined }))).toBeUndefined();
        expect(connectionProblem(facts({ socket: { status: "connecting" }, reconnectAttempts: 2 }))).toBeUndefined();
        expect(
            connectionProblem(facts({ socket: { status: "disconnected", closeError: { code: 4200 } } }))
        ).toBeUndefined();
    });

    it("puts a problem of the client configuration first", () => {
        expect(connectionProblem(facts({ configProblem: keyDown, socket: { status: "failed" } }))).toBe(keyDown);
    });

    it("says that the server refuses the app key once the key endpoint served it again", () => {
        const refusal = { closeError: { code: 4001, message: "App key a not found" }, key: "a", shown: false };
        const refused = facts({
            keyRefusal: refusal,
            socket: { status: "disconnected", closeError: refusal.closeError }
        });
        expect(connectionProblem(refused)).toBeUndefined();
        expect(
            connectionProblem({ ...refused, keyRefusal: { ...refusal, shown: true }, nextKeyRoundInMs: 1000 })
        ).toEqual({
            state: "retrying",
            retryInMs: 1000,
            error: expect.objectContaining({
                kind: "key-refused",
                retryable: true,
                message:
                    'The server refused the app key "a" (4001: App key a not found) that http://app.test/rest/pusher/key serves. Check that the key endpoint and the WebSocket server use the same Pusher app.'
            })
        });
    });

    it("shows a connection pusher-js gave up on as an error, except for a refused key", () => {
        const gaveUp = connectionProblem(
            facts({
                socket: { status: "disconnected", closeError: { code: 4007, message: "Unsupported protocol version" } }
            })
        );
        expect(gaveUp).toMatchObject({
            state: "error",
            error: {
                kind: "connection-refused",
                retryable: false,
                message: "The Notify & Listen server refused the connection (4007: Unsupported protocol version)."
            }
        });
        expect(
            connectionProblem(facts({ socket: { status: "disconnected", closeError: { code: 4301 } } }))
        ).toMatchObject({
            error: { kind: "connection-refused" }
        });
        expect(
            connectionProblem(facts({ socket: { status: "disconnected", closeError: { code: 4003 } } }))
        ).toBeUndefined();
    });

    it("says when the browser cannot open a WebSocket", () => {
        expect(connectionProblem(facts({ socket: { status: "failed" } }))).toMatchObject({
            state: "error",
            error: { kind: "key-unreachable", message: "This browser cannot open a WebSocket connection." }
        });
    });

    it("says 'reconnecting' while pusher-js finds the server unavailable, or after three failed attempts", () => {
        const reconnecting = {
            state: "retrying",
            error: {
                kind: "key-unreachable",
                message: "Lost the connection to the Notify & Listen server (http://app.test); reconnecting."
            }
        };
        expect(connectionProblem(facts({ socket: { status: "unavailable" } }))).toMatchObject(reconnecting);
        expect(
            connectionProblem(
                facts({ socket: { status: "connecting" }, reconnectAttempts: 3, nextReconnectInMs: 4000 })
            )
        ).toMatchObject({ ...reconnecting, retryInMs: 4000 });
    });
});

describe("channelStatus", () => {
    it("shows a problem of the connection on every channel, unless the channel has its own error", () => {
        const forbidden = { state: "error" as const, error: new ListenError("forbidden", "no") };
        expect(channelStatus({ state: "subscribed" }, undefined)).toEqual({ state: "subscribed" });
        expect(channelStatus({ state: "subscribed" }, keyDown)).toBe(keyDown);
        expect(channelStatus({ state: "connecting" }, keyDown)).toBe(keyDown);
        expect(channelStatus(forbidden, keyDown)).toBe(forbidden);
    });
});
