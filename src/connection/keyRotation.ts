import type { CloseError } from "./pusherJs";
import { reconnectDelay } from "./reconnect";

/**
 * Close codes with which a server refuses the app key itself: 4001 (no app with this key) and 4003 (app disabled).
 * pusher-js gives up on them for good; the connection asks the key endpoint again, since the key may have been
 * rotated (the embedded broker picks a new random key at every start unless `BROKER_KEY` fixes it).
 */
export const KEY_REFUSED_CODES: readonly number[] = [4001, 4003];

export function isKeyRefused(code: number): boolean {
    return KEY_REFUSED_CODES.includes(code);
}

/** The server refused the app key `key` with `closeError`, and no connection succeeded since. */
export interface KeyRefusal {
    readonly closeError: CloseError;
    readonly key: string;
    /** Whether the widgets say so: not for the first refusal, which a rotated key fixes before anyone notices. */
    shown: boolean;
}

export interface KeyRotation {
    /** The refusal in force, if any. */
    readonly refusal: KeyRefusal | undefined;
    /**
     * The server refused `key`: returns how long to wait before asking the key endpoint again. 0 (at once) for the
     * first refusal since the socket last connected; then the reconnect backoff, so that a server that keeps refusing
     * costs one key request and one connection attempt per step.
     */
    refused(closeError: CloseError, key: string): number;
    /** The key endpoint still serves the refused key: the widgets say so from now on. */
    sameKeyServed(): void;
    /** A client with a new configuration replaces the refused one: forget the refusal, go on counting the rounds. */
    replaced(): void;
    /** The socket connected: the key works, and the next refusal asks the key endpoint at once again. */
    accepted(): void;
}

/**
 * Key rotation on 4001/4003: after a key rotation (or a restart of the embedded broker with a random key) the key
 * endpoint serves the new key, and the connection reconnects with it.
 */
export function createKeyRotation(random: () => number): KeyRotation {
    /** Rounds of "key refused -> ask the key endpoint again" since the socket last connected. */
    let rounds = 0;
    let refusal: KeyRefusal | undefined;
    return {
        get refusal() {
            return refusal;
        },
        refused(closeError, key) {
            const round = rounds;
            rounds++;
            refusal = { closeError, key, shown: round > 0 };
            return round === 0 ? 0 : reconnectDelay(round - 1, random);
        },
        sameKeyServed() {
            if (refusal !== undefined) {
                refusal.shown = true;
            }
        },
        replaced() {
            refusal = undefined;
        },
        accepted() {
            refusal = undefined;
            rounds = 0;
        }
    };
}
