import type { CatchupAnswer, CatchupCursor } from "../../protocol";
import type { PresenceMembers } from "../utils/viewers";
import type { ChannelSubscription } from "./channelSubscription";
import type { ChannelListener, SubscriptionStatus } from "./status";

/**
 * How long the connection stays open after its last channel left. A data view that switches objects drops the old
 * object's subscription while the new object loads; within this grace period the new subscription reuses the socket.
 */
export const LINGER_MS = 3000;

/** One channel of a connection: the widgets listening to it, its own status and its pusher-js subscription. */
export interface ChannelEntry {
    readonly name: string;
    readonly listeners: Set<ChannelListener>;
    /** The channel's own status; a problem of the whole connection overrides it (`channelStatus`). */
    status: SubscriptionStatus;
    /** The subscription on the connection's current pusher-js client, while there is one. */
    subscription?: ChannelSubscription;
    /** Catch-up: the server's epoch and the highest `seq` the channel saw or was told; sent when it subscribes again. */
    cursor?: CatchupCursor;
    /** The highest `seq` seen per action: a notification runs once, whether it comes live or caught up. */
    readonly seen: Map<string, number>;
    /** The `catchup` of the last authorization's answer, until the subscription it signed succeeds. */
    catchup?: CatchupAnswer;
    /** When the channel stopped listening because of the connection; undefined while it listens. */
    lostAt?: number;
    /** Whether the widgets heard `onLost` for the current interruption. */
    lostTold?: boolean;
    /**
     * A notification without `seq` arrived: someone else sends to this channel too (the Mendix 7 Java action, another
     * Pusher SDK), and the catch-up cannot know what that sender sent meanwhile.
     */
    unstamped?: boolean;
    /** Presence channels: the last members pusher-js reported, for widgets that join later. */
    members?: PresenceMembers;
}

export interface Channels {
    readonly size: number;
    names(): string[];
    values(): IterableIterator<ChannelEntry>;
    get(name: string): ChannelEntry | undefined;
    /** Adds `listener` to channel `name`; `isNew` for the channel's first listener. Ends the grace period. */
    join(name: string, listener: ChannelListener): { entry: ChannelEntry; isNew: boolean };
    /**
     * Removes `listener` from `entry`. True when that was the channel's last listener: the entry is gone then, and
     * the caller unsubscribes it. When it was the last channel, the grace period starts: `onIdle` runs at its end
     * unless a channel joins meanwhile. Calling it again for the same listener does nothing.
     */
    leave(entry: ChannelEntry, listener: ChannelListener): boolean;
    /** Forgets every channel and stops the grace period. */
    clear(): void;
}

/**
 * The channels of one connection, reference counted: the first widget on a channel creates it, the last one out
 * removes it, and the last channel out starts a grace period (`lingerMs`) before the connection closes, so a widget
 * that changes its topic or switches objects keeps the connection. Every widget has its own listener, so one widget
 * leaving never removes another widget's.
 */
export function createChannels(lingerMs: number, onIdle: () => void): Channels {
    const entries = new Map<string, ChannelEntry>();
    let lingerTimer: ReturnType<typeof setTimeout> | undefined;

    const stopLinger = (): void => {
        clearTimeout(lingerTimer);
        lingerTimer = undefined;
    };

    return {
        get size() {
            return entries.size;
        },
        names: () => [...entries.keys()],
        values: () => entries.values(),
        get: name => entries.get(name),
        join(name, listener) {
            stopLinger();
            let entry = entries.get(name);
            const isNew = entry === undefined;
            if (entry === undefined) {
                entry = { name, listeners: new Set(), status: { state: "connecting" }, seen: new Map() };
                entries.set(name, entry);
            }
            entry.listeners.add(listener);
            return { entry, isNew };
        },
        leave(entry, listener) {
            entry.listeners.delete(listener);
            if (entry.listeners.size > 0 || entries.get(entry.name) !== entry) {
                return false;
            }
            entries.delete(entry.name);
            if (entries.size === 0) {
                stopLinger();
                lingerTimer = setTimeout(() => {
                    lingerTimer = undefined;
                    onIdle();
                }, lingerMs);
            }
            return true;
        },
        clear() {
            stopLinger();
            entries.clear();
        }
    };
}
