/**
 * Catch-up wire rules (docs/architecture-catchup.md), shared by the widget and the server; no DOM, no Node.
 *
 * - Every payload the companion server triggers carries two more fields: `seq`, the notification's position on its
 *   channel (strictly increasing within an epoch), and `epoch`, the identity of the server's catch-up state (new
 *   whenever that state is lost, e.g. a restart). Old listeners ignore both.
 * - A widget that subscribes a channel again sends its cursor `<epoch>:<seq>` (the last position it knows) as the
 *   form field `catchup` of `POST /rest/pusher/auth`; the answer's `catchup` says what it missed.
 * - A notification that may have reached the broker while a widget was between its authorization and its
 *   subscription is sent again, shortly after, as the event `CATCH_UP_EVENT` with the same payload (same `seq`):
 *   widgets run it under the payload's `actionName` unless they saw that `seq`; old listeners ignore the event.
 */
import type { NotificationPayload } from "./payload.js";

/** Name of the event that re-sends a notification to widgets that may have missed it while subscribing. */
export const CATCH_UP_EVENT = "notifylisten:catch-up";

/** Most bytes the catch-up fields add to a payload: `,"seq":` + 16 digits + `,"epoch":"` + 32 characters + `"`. */
export const CATCHUP_FIELDS_MAX_BYTES = 64;

/** An epoch: 1 to 32 letters, digits, `_` or `-` (the server makes 12 random base64url characters). */
export const EPOCH_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/** The `catchup` form field of a channel authorization: `<epoch>:<seq>`. */
export const CURSOR_PATTERN = /^([A-Za-z0-9_-]{1,32}):(\d{1,16})$/;

/** Where a widget is on a channel: the epoch and the highest `seq` it saw or was told about. */
export interface CatchupCursor {
    epoch: string;
    seq: number;
}

/** Why a widget may have missed notifications that the catch-up cannot give it. */
export type LostReason =
    /** The epoch changed: the server lost its catch-up state (a restart without shared state). */
    | "restart"
    /** The server no longer keeps a notification the widget missed (retention time or memory bounds). */
    | "expired";

/** A payload as the companion server triggers it: the historic fields, `data`, and the catch-up fields. */
export interface StampedPayload extends NotificationPayload {
    seq: number;
    epoch: string;
}

/**
 * The `catchup` part of the answer of `POST /rest/pusher/auth`. `epoch` and `seq` are the widget's new cursor.
 * `missed` (only when the request carried a cursor the server evaluated): the latest payload of each action the
 * widget may have missed, oldest first; a widget runs those whose `seq` it has not seen for that action. `lost`:
 * the widget may have missed more than `missed` holds.
 */
export interface CatchupAnswer {
    epoch: string;
    seq: number;
    missed?: StampedPayload[];
    lost?: LostReason;
}

/** The `catchup` form field for a cursor. */
export function formatCursor(cursor: CatchupCursor): string {
    return `${cursor.epoch}:${cursor.seq}`;
}

/** The cursor of a `catchup` form field, or null when it is not `<epoch>:<seq>`. */
export function parseCursor(text: string): CatchupCursor | null {
    const match = CURSOR_PATTERN.exec(text);
    return match === null ? null : { epoch: match[1], seq: Number(match[2]) };
}
