import pino from "pino";
import { describe, expect, it } from "vitest";
import type { ClusterFrame } from "../../cluster/adapter.js";
import { localBrokerCluster } from "../../cluster/local.js";
import { Hub } from "../hub.js";

const CONFIG = {
    appId: "app",
    key: "key",
    secret: "secret",
    maxMessageBytes: 10_240,
    clientEvents: false,
    publicChannels: false,
    maxSubscriptions: 100
};

/** A hub whose cluster is shared (as with Redis) and records what it publishes. */
function sharedHub(): { hub: Hub; published: ClusterFrame[][] } {
    const published: ClusterFrame[][] = [];
    const hub = new Hub(CONFIG, pino({ level: "silent" }), undefined, {
        attachBroker: view => ({
            ...localBrokerCluster(view),
            shared: true,
            publish: frames => void published.push([...frames])
        })
    });
    return { hub, published };
}

describe("publishing to other instances", () => {
    it("hands a batch's frames to the cluster in one message, in order", () => {
        const { hub, published } = sharedHub();
        hub.publishAll([
            { channels: ["private-a"], name: "refresh", data: '{"n":1}' },
            { channels: ["private-b", "private-c"], name: "refresh", data: '{"n":2}', socketId: "1.2" }
        ]);
        expect(published).toHaveLength(1);
        expect(published[0]!.map(({ channel, except }) => [channel, except])).toEqual([
            ["private-a", undefined],
            ["private-b", "1.2"],
            ["private-c", "1.2"]
        ]);
        expect(JSON.parse(published[0]![1]!.frame)).toEqual({
            event: "refresh",
            channel: "private-b",
            data: '{"n":2}'
        });
    });
});
