/**
 * Pusher protocol 7 error and close codes used by the embedded broker. pusher-js maps close codes (and the
 * code of a `pusher:error` received during the handshake) to a reaction:
 *   4000       -> switch to TLS          4001-4099 -> refused, do not reconnect
 *   4100-4199  -> reconnect after backoff 4200-4299 -> reconnect at once
 *   4300+      -> refused
 * A `pusher:error` received AFTER the handshake only raises an `error` event in pusher-js; the connection stays
 * up. The broker therefore uses 43xx codes for per-message problems on an established connection (they never
 * reach the handshake, where 43xx would mean "refused"), and never 4000 (which pusher-js reads as "TLS only").
 */
export const ErrorCode = {
    /** Close: no app with this key. */
    APP_NOT_FOUND: 4001,
    /** Close: `protocol` query parameter missing or not 5..7. */
    UNSUPPORTED_PROTOCOL: 4007,
    /** Close: more than `maxConnections` sockets; pusher-js retries after a backoff. */
    OVER_CAPACITY: 4100,
    /** Close: server restarting; pusher-js reconnects at once. Only used for established connections. */
    RESTARTING: 4200,
    /** Close: our `pusher:ping` was not answered within `pongTimeoutMs`. */
    PONG_NOT_RECEIVED: 4201,
    /** pusher:error: frame is not valid JSON, has no event name, or an event the broker does not know. */
    INVALID_MESSAGE: 4300,
    /** pusher:error: client event rejected because the socket sends more than 10 per second. */
    RATE_LIMITED: 4301,
    /** pusher:error: frame larger than `maxMessageBytes`. */
    MESSAGE_TOO_LARGE: 4302,
    /** pusher:error: client event on a channel that does not allow it or that the socket did not join. */
    CLIENT_EVENT_REJECTED: 4303
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Close reasons (sent in the WebSocket close frame; pusher-js shows them as the error message). */
export const CloseReason = {
    [ErrorCode.APP_NOT_FOUND]: "App key not found",
    [ErrorCode.UNSUPPORTED_PROTOCOL]: "Unsupported protocol version",
    [ErrorCode.OVER_CAPACITY]: "Over capacity, try again later",
    [ErrorCode.RESTARTING]: "Server restarting",
    [ErrorCode.PONG_NOT_RECEIVED]: "Pong reply not received"
} as const;
