import type { ServerEndpoints } from "../utils/endpoints";
import { ListenError, type ListenErrorKind } from "../utils/errors";
import type { KeyRefusal } from "./keyRotation";
import { isKeyRefused } from "./keyRotation";
import { describeClose, pusherGivesUpOn } from "./pusherJs";
import { RECONNECT_ATTEMPTS_BEFORE_NOTICE } from "./reconnect";
import type { SocketState } from "./socket";
import type { ConnectionProblem } from "./status";

/** What the connection to one server knows about itself, for `connectionProblem`. */
export interface ConnectionFacts {
    endpoints: ServerEndpoints;
    /** Why the client configuration cannot be loaded, or pusher-js cannot be created with it. */
    configProblem: ConnectionProblem | undefined;
    keyRefusal: KeyRefusal | undefined;
    /** When the key endpoint is asked again after a refused key, if that is scheduled. */
    nextKeyRoundInMs: number | undefined;
    /** The socket's state; undefined while there is no socket. */
    socket: SocketState | undefined;
    /** Reconnect attempts since the socket was lost, and when the next check comes. */
    reconnectAttempts: number;
    nextReconnectInMs: number | undefined;
}

/** A temporary problem of the connection, and when the next try comes (if one is scheduled). */
function retrying(kind: ListenErrorKind, message: string, retryInMs: number | undefined): ConnectionProblem {
    return { state: "retrying", error: new ListenError(kind, message, { retryable: true }), retryInMs };
}

function failed(kind: ListenErrorKind, message: string): ConnectionProblem {
    return { state: "error", error: new ListenError(kind, message) };
}

/**
 * What every widget on the connection should show about the connection itself, if anything, most important first:
 * the client configuration, a refused app key, a connection pusher-js gave up on, then a lost socket. A socket lost
 * for a moment is no news: "reconnecting" shows only while pusher-js says the server is unavailable or after a few
 * failed reconnect attempts.
 */
export function connectionProblem(facts: ConnectionFacts): ConnectionProblem | undefined {
    const { endpoints, keyRefusal, socket } = facts;
    if (facts.configProblem !== undefined) {
        return facts.configProblem;
    }
    if (keyRefusal?.shown) {
        return retrying(
            "key-refused",
            `The server refused the app key "${keyRefusal.key}" (${describeClose(keyRefusal.closeError)}) that ${endpoints.keyUrl} serves. Check that the key endpoint and the WebSocket server use the same Pusher app.`,
            // No round scheduled: the connection is trying the key once more right now.
            facts.nextKeyRoundInMs ?? 0
        );
    }
    if (socket?.status === "disconnected" && socket.closeError !== undefined) {
        const { code } = socket.closeError;
        if (!isKeyRefused(code) && pusherGivesUpOn(code)) {
            return failed(
                "connection-refused",
                `The Notify & Listen server refused the connection (${describeClose(socket.closeError)}).`
            );
        }
    }
    if (socket?.status === "failed") {
        return failed("key-unreachable", "This browser cannot open a WebSocket connection.");
    }
    if (socket?.status === "unavailable" || facts.reconnectAttempts >= RECONNECT_ATTEMPTS_BEFORE_NOTICE) {
        return retrying(
            "key-unreachable",
            `Lost the connection to the Notify & Listen server (${endpoints.base}); reconnecting.`,
            facts.nextReconnectInMs
        );
    }
    return undefined;
}
