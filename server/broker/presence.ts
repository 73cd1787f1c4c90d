/**
 * Members of presence channels. One user may be subscribed from several sockets: `member_added` is sent
 * for the first socket of a user only and `member_removed` after the last one left.
 */
export interface PresenceMember {
    userId: string;
    userInfo: unknown;
}

/** What `pusher_internal:subscription_succeeded` carries for a presence channel. */
export interface PresenceSnapshot {
    presence: { ids: string[]; hash: Record<string, unknown>; count: number };
}

interface MemberEntry {
    userInfo: unknown;
    sockets: number;
}

export class PresenceRegistry {
    private readonly channels = new Map<string, Map<string, MemberEntry>>();

    /** Records one socket of `member` in `channel`; true when the user was not present before. */
    join(channel: string, member: PresenceMember): boolean {
        let members = this.channels.get(channel);
        if (members === undefined) {
            members = new Map();
            this.channels.set(channel, members);
        }
        const entry = members.get(member.userId);
        if (entry !== undefined) {
            entry.sockets++;
            entry.userInfo = member.userInfo;
            return false;
        }
        members.set(member.userId, { userInfo: member.userInfo, sockets: 1 });
        return true;
    }

    /** Removes one socket of `userId` from `channel`; true when that was the user's last socket. */
    leave(channel: string, userId: string): boolean {
        const members = this.channels.get(channel);
        const entry = members?.get(userId);
        if (members === undefined || entry === undefined) {
            return false;
        }
        entry.sockets--;
        if (entry.sockets > 0) {
            return false;
        }
        members.delete(userId);
        if (members.size === 0) {
            this.channels.delete(channel);
        }
        return true;
    }

    userCount(channel: string): number {
        return this.channels.get(channel)?.size ?? 0;
    }

    userIds(channel: string): string[] {
        return [...(this.channels.get(channel)?.keys() ?? [])];
    }

    snapshot(channel: string): PresenceSnapshot {
        const members = this.channels.get(channel);
        const hash: Record<string, unknown> = {};
        for (const [userId, entry] of members ?? []) {
            hash[userId] = entry.userInfo ?? null;
        }
        const ids = Object.keys(hash);
        return { presence: { ids, hash, count: ids.length } };
    }

    /** Members with a socket here: user id -> user_info (null when none was given). */
    members(channel: string): Record<string, unknown> {
        return this.snapshot(channel).presence.hash;
    }

    /** Every (channel, member) with at least one socket here. */
    *memberships(): IterableIterator<{ channel: string; member: PresenceMember }> {
        for (const [channel, members] of this.channels) {
            for (const [userId, entry] of members) {
                yield { channel, member: { userId, userInfo: entry.userInfo } };
            }
        }
    }

    get channelCount(): number {
        return this.channels.size;
    }
}

/** Reads presence `channel_data` (`{"user_id": ..., "user_info"?: ...}`); null when unusable. */
export function parseChannelData(channelData: string): PresenceMember | null {
    let value: unknown;
    try {
        value = JSON.parse(channelData);
    } catch {
        return null;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return null;
    }
    const record = value as Record<string, unknown>;
    const rawId = record.user_id;
    const userId = typeof rawId === "string" ? rawId : typeof rawId === "number" ? String(rawId) : "";
    if (userId.length === 0) {
        return null;
    }
    return { userId, userInfo: record.user_info };
}
