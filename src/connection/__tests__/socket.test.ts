import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakePusherFactory, refuseAllBut, type FakePusher } from "../../__tests__/fakes";
import { ListenError } from "../../utils/errors";
import { openSocket, type SocketEvents, type SocketState } from "../socket";

const CONFIG = { key: "app-key", cluster: "local", wsHost: "127.0.0.1", wsPort: 6001, forceTLS: false };

function setup(
    settings: Parameters<typeof fakePusherFactory>[0] = {},
    authorize = () => Promise.resolve({ auth: "k:sig" })
) {
    const pushers = fakePusherFactory(settings);
    const changes: Array<[SocketState["status"], SocketState["status"]]> = [];
    const states: SocketState[] = [];
    const errors: SocketState[] = [];
    const authFailures: Array<[string, ListenError]> = [];
    const events: SocketEvents = {
        onStateChange: (next, previous) => {
            changes.push([previous.status, next.status]);
            states.push(next);
        },
        onError: state => errors.push(state),
        onAuthorizationFailed: (channelName, error) => authFailures.push([channelName, error])
    };
    const socket = openSocket({ createPusher: pushers.create, config: CONFIG, authorize, events });
    const client = pushers.clients[0] as FakePusher;
    return { socket, client, pushers, changes, states, errors, authFailures };
}

describe("openSocket", () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it("creates a pusher-js client with the configuration's key and options, and follows its states", async () => {
        const { socket, client, changes } = setup();
        expect(client.key).toBe("app-key");
        expect(client.options).toMatchObject({ wsHost: "127.0.0.1", wsPort: 6001, enabledTransports: ["ws", "wss"] });
        expect(socket.config).toBe(CONFIG);
        // pusher-js reports its first "connecting" in the constructor, before anyone listens.
        expect(socket.state).toEqual({ status: "initialized" });
        await vi.advanceTimersByTimeAsync(0);
        expect(socket.state).toEqual({ status: "connected" });
        expect(changes).toEqual([["initialized", "connected"]]);
    });

    it("puts the server's close code on the 'disconnected' that follows the error", async () => {
        const { socket, states, errors } = setup({ acceptKey: "another-key" });
        await vi.advanceTimersByTimeAsync(0);
        expect(errors).toEqual([{ status: "initialized" }]);
        expect(socket.state).toEqual({
            status: "disconnected",
            closeError: { code: 4001, message: "App key not found" }
        });
        expect(states).toHaveLength(1);
    });

    it("reports a 'disconnected' without a close code as such, and does not carry a code over", async () => {
        const { socket, client } = setup();
        await vi.advanceTimersByTimeAsync(0);
        client.drop(4200);
        expect(socket.state).toEqual({ status: "connecting" });
        await vi.advanceTimersByTimeAsync(0);
        client.disconnect();
        expect(socket.state).toEqual({ status: "disconnected", closeError: undefined });
    });

    it("restart() starts the attempt over without reporting the 'disconnected' in between", async () => {
        const { socket, client, changes } = setup({ reachable: false });
        await vi.advanceTimersByTimeAsync(0);
        client.setState("unavailable");
        socket.restart();
        expect(client.disconnectCalls).toBe(1);
        expect(client.connectCalls).toBe(2);
        expect(changes).toEqual([
            ["initialized", "unavailable"],
            ["unavailable", "connecting"]
        ]);
    });

    it("tries again at once when the browser is online again, unless connected or closed", async () => {
        const { socket, client } = setup({ reachable: false });
        await vi.advanceTimersByTimeAsync(0);
        client.setState("unavailable");
        client.reachable = true;
        window.dispatchEvent(new Event("online"));
        await vi.advanceTimersByTimeAsync(0);
        expect(client.disconnectCalls).toBe(1);
        expect(socket.state).toEqual({ status: "connected" });
        window.dispatchEvent(new Event("online"));
        expect(client.disconnectCalls).toBe(1);
        socket.close();
        window.dispatchEvent(new Event("online"));
        expect(client.connectCalls).toBe(2);
    });

    it("connect() asks pusher-js to connect again after it gave up", async () => {
        const { socket, client, pushers } = setup({ acceptKey: "another-key" });
        await vi.advanceTimersByTimeAsync(0);
        pushers.broker.refuse = refuseAllBut("app-key");
        socket.connect();
        await vi.advanceTimersByTimeAsync(0);
        expect(client.connectCalls).toBe(2);
        expect(socket.state).toEqual({ status: "connected" });
    });

    it("reports our authorizer's failures with the channel, and passes them on to pusher-js", async () => {
        const refused = new ListenError("forbidden", "you may not listen to this object", { status: 403 });
        const { socket, client, authFailures } = setup({}, () => Promise.reject(refused));
        await vi.advanceTimersByTimeAsync(0);
        const channel = socket.subscribe("private-x");
        const heard: string[] = [];
        channel.bind_global(event => heard.push(event));
        await vi.advanceTimersByTimeAsync(0);
        expect(authFailures).toEqual([["private-x", refused]]);
        expect(heard).toEqual(["pusher:subscription_error"]);
        expect(client.authorizations).toEqual(["private-x"]);
    });

    it("close() disconnects and silences the client for good", async () => {
        let reject: (error: ListenError) => void = () => undefined;
        const { socket, client, changes, errors, authFailures } = setup(
            {},
            () => new Promise((_resolve, fail) => (reject = fail))
        );
        await vi.advanceTimersByTimeAsync(0);
        socket.subscribe("private-x");
        socket.close();
        expect(client.disconnected).toBe(true);
        expect(socket.state).toEqual({ status: "closed" });
        client.emitConnection("error", { type: "PusherError", data: { code: 4200 } });
        client.emitConnection("state_change", { previous: "disconnected", current: "connecting" });
        reject(new ListenError("auth-unavailable", "late", { retryable: true }));
        await vi.advanceTimersByTimeAsync(0);
        expect(changes).toEqual([["initialized", "connected"]]);
        expect(errors).toEqual([]);
        expect(authFailures).toEqual([]);
        socket.close();
        expect(client.disconnectCalls).toBe(1);
    });

    it("throws what pusher-js throws for an unusable configuration", () => {
        expect(() =>
            openSocket({
                createPusher: () => {
                    throw new Error("Options object must provide a cluster");
                },
                config: CONFIG,
                authorize: () => Promise.resolve({ auth: "k:sig" }),
                events: {
                    onStateChange: () => undefined,
                    onError: () => undefined,
                    onAuthorizationFailed: () => undefined
                }
            })
        ).toThrow("Options object must provide a cluster");
    });
});
