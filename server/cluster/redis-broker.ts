/**
 * The broker's part of the Redis adapter (./redis.ts): fan-out over the bus, presence members and channel counts
 * over every instance. While Redis is unreachable each instance serves its own sockets: presence answers are this
 * instance's, channel answers of the HTTP API are 503, and frames for the others wait in the outbox.
 */
import {
    ClusterUnavailableError,
    type BrokerCluster,
    type ChannelCounts,
    type ClusterFrame,
    type LocalBrokerView
} from "./adapter.js";
import type { BusMessage, RedisLink } from "./redis-link.js";

/** How presence frames (`member_added`, `member_removed`) begin, as the broker encodes them. */
const PRESENCE_FRAME = '{"event":"pusher_internal:member_';

/** HGETALL as a flat array -> user id -> user_info. */
function membersOf(flat: readonly string[]): Record<string, unknown> {
    const members: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
        try {
            members[flat[i]] = JSON.parse(flat[i + 1]);
        } catch {
            members[flat[i]] = null;
        }
    }
    return members;
}

function unavailable(): ClusterUnavailableError {
    return new ClusterUnavailableError(
        "Redis is unreachable: channel information over every instance cannot be read now; try again later"
    );
}

/** The broker's part, plus what the resync after an outage needs from it. */
export interface RedisBrokerCluster extends BrokerCluster {
    /** Members whose last socket here left while Redis was unreachable ("<channel>\n<user id>"), forgotten here. */
    takeLeftWhileDown(): string[];
}

export function redisBrokerCluster(link: RedisLink, view: LocalBrokerView): RedisBrokerCluster {
    const { keys, instanceId, command } = link;
    const leftWhileDown = new Set<string>();
    const lost = (what: string) => (error: unknown) =>
        link.logger.debug({ err: error instanceof Error ? error.message : String(error) }, `Redis: ${what} failed`);

    link.onMessage((message: BusMessage) => {
        if (message.f !== undefined) {
            view.deliver(message.f.map(([channel, frame, except]) => ({ channel, frame, except })));
        }
    });

    /** Sums the channel counts of every registered instance. */
    const subscriptionsByChannel = async (): Promise<Map<string, number>> => {
        const ids = await command.smembers(keys.instances);
        const pipeline = command.pipeline();
        for (const id of ids) {
            pipeline.hgetall(keys.instanceChannels(id));
        }
        const totals = new Map<string, number>();
        for (const [error, value] of (await pipeline.exec()) ?? []) {
            if (error !== null) {
                throw error;
            }
            for (const [channel, count] of Object.entries(value as Record<string, string>)) {
                totals.set(channel, (totals.get(channel) ?? 0) + Number(count));
            }
        }
        return totals;
    };

    const userCount = async (channel: string): Promise<number> =>
        channel.startsWith("presence-") ? command.hlen(keys.presence(channel)) : 0;

    return {
        takeLeftWhileDown() {
            const left = [...leftWhileDown];
            leftWhileDown.clear();
            return left;
        },
        shared: true,
        publish(frames: readonly ClusterFrame[]) {
            // Presence changes while Redis is unreachable are not queued: the resync announces what changed.
            const sent = link.up() ? frames : frames.filter(({ frame }) => !frame.startsWith(PRESENCE_FRAME));
            if (sent.length > 0) {
                link.publish({
                    i: instanceId,
                    f: sent.map(({ channel, frame, except }) => [channel, frame, except])
                });
            }
        },
        subscribed(channel, delta) {
            // While Redis is unreachable the counts are written again from scratch when it is back (./redis.ts).
            if (link.up()) {
                link.script("nlCountSubscription", [keys.instanceChannels(instanceId)], [channel, delta]).catch(
                    lost("subscription count")
                );
            }
        },
        async presenceJoined(channel, member, firstHere) {
            const alone = { first: firstHere, members: view.presenceMembers(channel) };
            leftWhileDown.delete(`${channel}\n${member.userId}`);
            if (!link.up()) {
                return alone;
            }
            try {
                const [first, flat] = (await link.script(
                    "nlPresenceJoin",
                    [keys.instancePresence(instanceId), keys.presence(channel), keys.presenceCount(channel)],
                    [channel, member.userId, JSON.stringify(member.userInfo ?? null), firstHere ? 1 : 0]
                )) as [number, string[]];
                return { first: first === 1, members: membersOf(flat) };
            } catch (error) {
                lost("presence join")(error);
                return alone;
            }
        },
        async presenceLeft(channel, userId) {
            if (!link.up()) {
                // Redis may have lost who was here: the resync tells the others unless another instance holds the user.
                leftWhileDown.add(`${channel}\n${userId}`);
                return true;
            }
            try {
                const last = await link.script(
                    "nlPresenceLeave",
                    [keys.instancePresence(instanceId), keys.presence(channel), keys.presenceCount(channel)],
                    [channel, userId]
                );
                return last === 1;
            } catch (error) {
                lost("presence leave")(error);
                return true;
            }
        },
        async presenceMembers(channel) {
            if (!link.up()) {
                return view.presenceMembers(channel);
            }
            try {
                return membersOf((await command.call("HGETALL", keys.presence(channel))) as string[]);
            } catch (error) {
                lost("presence members")(error);
                return view.presenceMembers(channel);
            }
        },
        async channels(prefix) {
            if (!link.up()) {
                throw unavailable();
            }
            try {
                const result = new Map<string, ChannelCounts>();
                for (const [channel, subscriptions] of await subscriptionsByChannel()) {
                    if (subscriptions > 0 && channel.startsWith(prefix)) {
                        result.set(channel, { subscriptions, users: await userCount(channel) });
                    }
                }
                return result;
            } catch (error) {
                lost("channel list")(error);
                throw unavailable();
            }
        },
        async channel(name) {
            if (!link.up()) {
                throw unavailable();
            }
            try {
                const ids = await command.smembers(keys.instances);
                const counts =
                    ids.length === 0
                        ? []
                        : await Promise.all(ids.map(id => command.hget(keys.instanceChannels(id), name)));
                const subscriptions = counts.reduce((sum, count) => sum + Number(count ?? 0), 0);
                return { subscriptions, users: await userCount(name) };
            } catch (error) {
                lost("channel counts")(error);
                throw unavailable();
            }
        }
    };
}
