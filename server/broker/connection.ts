/**
 * One client socket: sending with a slow-consumer guard, the server side of the activity check
 * (`pusher:ping` after `activity_timeout` of silence, close 4201 when nothing comes back within
 * `pongTimeoutMs`), the client-event rate window, and a bounded close. Every timer is cleared by `dispose()`.
 */
import { WebSocket } from "ws";
import { CloseReason, ErrorCode } from "./codes.js";
import { encodeFrame } from "./frames.js";
import type { PresenceMember } from "./presence.js";

/** A socket whose unsent backlog grows beyond this is cut (it would only grow memory); pusher-js reconnects. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Client events a socket may send per second (Pusher's limit). */
export const CLIENT_EVENTS_PER_SECOND = 10;
/** How long a closing socket may take to answer our close frame before it is terminated. */
export const CLOSE_GRACE_MS = 1_000;

const PING_FRAME = encodeFrame("pusher:ping", "{}");

export interface ConnectionTiming {
    activityTimeoutMs: number;
    pongTimeoutMs: number;
}

/** Sends a close frame and terminates the socket if the peer does not complete the close handshake in time. */
export function closeSocket(ws: WebSocket, code: number, reason: string, graceMs = CLOSE_GRACE_MS): void {
    if (ws.readyState === WebSocket.CLOSED) {
        return;
    }
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        try {
            ws.close(code, reason);
        } catch {
            ws.terminate();
            return;
        }
    }
    const kill = setTimeout(() => ws.terminate(), graceMs);
    kill.unref();
    ws.once("close", () => clearTimeout(kill));
}

export class Connection {
    /** Presence membership of this socket, per presence channel. */
    readonly presence = new Map<string, PresenceMember>();
    private lastSeen = Date.now();
    private pingSentAt = 0;
    private timer: NodeJS.Timeout | undefined;
    private disposed = false;
    private rateWindowStart = 0;
    private rateCount = 0;

    constructor(
        readonly ws: WebSocket,
        readonly socketId: string,
        private readonly timing: ConnectionTiming
    ) {
        this.schedule(timing.activityTimeoutMs);
    }

    get isOpen(): boolean {
        return !this.disposed && this.ws.readyState === WebSocket.OPEN;
    }

    /** Sends one frame; false when the socket is gone or was cut for being too slow. */
    send(frame: string | Buffer): boolean {
        const ws = this.ws;
        if (this.disposed || ws.readyState !== WebSocket.OPEN) {
            return false;
        }
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
            ws.terminate();
            return false;
        }
        ws.send(frame, { binary: false });
        return true;
    }

    /** Called for every frame received: the client is alive. */
    markActivity(): void {
        this.lastSeen = Date.now();
        this.pingSentAt = 0;
    }

    /** Fixed one-second window; true when one more client event is allowed now. */
    allowClientEvent(now = Date.now()): boolean {
        if (now - this.rateWindowStart >= 1_000) {
            this.rateWindowStart = now;
            this.rateCount = 0;
        }
        if (this.rateCount >= CLIENT_EVENTS_PER_SECOND) {
            return false;
        }
        this.rateCount++;
        return true;
    }

    close(code: number, reason: string): void {
        this.stopTimer();
        closeSocket(this.ws, code, reason);
    }

    /** Stops every timer; called once the socket has closed. Idempotent. */
    dispose(): void {
        this.disposed = true;
        this.stopTimer();
    }

    private schedule(ms: number): void {
        this.timer = setTimeout(this.check, Math.max(1, ms));
        this.timer.unref();
    }

    private stopTimer(): void {
        if (this.timer !== undefined) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
    }

    /** Single timer for both phases: idle -> ping, ping -> (answer ? idle : close 4201). */
    private readonly check = (): void => {
        this.timer = undefined;
        if (this.disposed) {
            return;
        }
        if (this.pingSentAt !== 0) {
            this.close(ErrorCode.PONG_NOT_RECEIVED, CloseReason[ErrorCode.PONG_NOT_RECEIVED]);
            return;
        }
        const idle = Date.now() - this.lastSeen;
        if (idle >= this.timing.activityTimeoutMs) {
            this.pingSentAt = Date.now();
            this.send(PING_FRAME);
            this.schedule(this.timing.pongTimeoutMs);
        } else {
            this.schedule(this.timing.activityTimeoutMs - idle);
        }
    };
}
