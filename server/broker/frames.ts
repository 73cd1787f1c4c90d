/**
 * Wire frames. Server -> client frames carry `data` as a JSON *string* (pusher-js parses it again); client ->
 * server frames carry `data` as an object. Frames are built by string concatenation so a published event is
 * serialized exactly once, whatever the number of receivers.
 */

/** `{"event":...,"channel":...,"data":"..."}` with `data` sent verbatim as a JSON string. */
export function encodeFrame(event: string, data: string, channel?: string, userId?: string): string {
    let frame = `{"event":${JSON.stringify(event)}`;
    if (channel !== undefined) {
        frame += `,"channel":${JSON.stringify(channel)}`;
    }
    if (userId !== undefined) {
        frame += `,"user_id":${JSON.stringify(userId)}`;
    }
    return `${frame},"data":${JSON.stringify(data)}}`;
}

/** Frame whose data is an object, serialized to the JSON string Pusher expects. */
export function encodeJsonFrame(event: string, data: unknown, channel?: string): string {
    return encodeFrame(event, JSON.stringify(data ?? {}), channel);
}

/** `pusher:error` frame; a connection-level error (no channel). */
export function encodeError(code: number | null, message: string): string {
    return encodeJsonFrame("pusher:error", { code, message });
}

/** A message received from a client, after the envelope checks. */
export interface ClientMessage {
    event: string;
    channel?: string;
    data: unknown;
}

export type DecodeResult = { ok: true; message: ClientMessage } | { ok: false; error: string };

/** Parses one client frame. Never throws. */
export function decodeClientMessage(text: string): DecodeResult {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        return { ok: false, error: "Invalid JSON: the message could not be parsed" };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return { ok: false, error: "Invalid message: a JSON object with an `event` field is expected" };
    }
    const record = value as Record<string, unknown>;
    if (typeof record.event !== "string" || record.event.length === 0) {
        return { ok: false, error: "Invalid message: the `event` field is missing or not a string" };
    }
    if (record.channel !== undefined && typeof record.channel !== "string") {
        return { ok: false, error: "Invalid message: the `channel` field is not a string" };
    }
    let data = record.data;
    // Some clients send data as a JSON string; accept both.
    if (typeof data === "string" && (record.event === "pusher:subscribe" || record.event === "pusher:unsubscribe")) {
        try {
            data = JSON.parse(data);
        } catch {
            return { ok: false, error: `Invalid message: the data of ${record.event} is not an object` };
        }
    }
    return { ok: true, message: { event: record.event, channel: record.channel as string | undefined, data } };
}
