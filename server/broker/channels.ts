/**
 * Channel registry: channel -> subscribers, plus the reverse index subscriber -> channels so a closing
 * connection leaves every channel in one call. All lookups are O(1); empty channels are removed at once.
 */
export class ChannelRegistry<T> {
    private readonly byChannel = new Map<string, Set<T>>();
    private readonly byMember = new Map<T, Set<string>>();
    private subscriptionCount = 0;

    /** Adds `member` to `channel`; returns false when it was already subscribed. */
    subscribe(channel: string, member: T): boolean {
        let members = this.byChannel.get(channel);
        if (members === undefined) {
            members = new Set();
            this.byChannel.set(channel, members);
        } else if (members.has(member)) {
            return false;
        }
        members.add(member);
        let channels = this.byMember.get(member);
        if (channels === undefined) {
            channels = new Set();
            this.byMember.set(member, channels);
        }
        channels.add(channel);
        this.subscriptionCount++;
        return true;
    }

    /** Removes `member` from `channel`; returns false when it was not subscribed. */
    unsubscribe(channel: string, member: T): boolean {
        const members = this.byChannel.get(channel);
        if (members === undefined || !members.delete(member)) {
            return false;
        }
        if (members.size === 0) {
            this.byChannel.delete(channel);
        }
        const channels = this.byMember.get(member);
        if (channels !== undefined) {
            channels.delete(channel);
            if (channels.size === 0) {
                this.byMember.delete(member);
            }
        }
        this.subscriptionCount--;
        return true;
    }

    /** Removes `member` from every channel; returns the channels it left. */
    removeMember(member: T): string[] {
        const channels = this.byMember.get(member);
        if (channels === undefined) {
            return [];
        }
        const left = [...channels];
        for (const channel of left) {
            this.unsubscribe(channel, member);
        }
        return left;
    }

    isSubscribed(channel: string, member: T): boolean {
        return this.byChannel.get(channel)?.has(member) ?? false;
    }

    /** Subscribers of a channel (live view; do not modify), or undefined when nobody is subscribed. */
    subscribers(channel: string): ReadonlySet<T> | undefined {
        return this.byChannel.get(channel);
    }

    subscriberCount(channel: string): number {
        return this.byChannel.get(channel)?.size ?? 0;
    }

    /** Channels a member is subscribed to (live view; do not modify). */
    channelsOf(member: T): ReadonlySet<string> {
        return this.byMember.get(member) ?? EMPTY;
    }

    /** Names of all occupied channels. */
    channelNames(): IterableIterator<string> {
        return this.byChannel.keys();
    }

    get channelCount(): number {
        return this.byChannel.size;
    }

    get memberCount(): number {
        return this.byMember.size;
    }

    get subscriptions(): number {
        return this.subscriptionCount;
    }
}

const EMPTY: ReadonlySet<string> = new Set();
