/**
 * A minimal, faithful stand-in for pusher-js behind the ConnectionManager's injection point, plus a fake `fetch`
 * for the key and auth endpoints. The fake follows pusher-js 8: subscribe() on a connected client authorizes through
 * `channelAuthorization.customHandler`, then emits `pusher:subscription_succeeded` or `pusher:subscription_error`
 * on the channel; global handlers see every event; unsubscribe() of a pending channel only cancels it. Connecting
 * follows pusher-js too: connect() is a no-op while connecting or connected, an attempt succeeds (asynchronously) only
 * while `reachable`, otherwise it hangs like pusher-js waiting out its transport timeout; disconnect() forgets no
 * channel, and every channel is subscribed again on "connected". A server that refuses the client's app key (close
 * code 4001, or any 4001-4099) makes pusher-js emit the close error and give up: `refuse()` does exactly that.
 */
import type { Options } from "pusher-js";
import type { ChannelLike, PusherLike } from "../connection/pusherJs";

type Callback = (data: unknown) => void;

/** A close code (and reason) with which the server refuses a connection attempt. */
export interface Refusal {
    code: number;
    message: string;
}

/** The fake server side of the fake clients: which app keys it refuses. Tests change `refuse` to rotate the key. */
export interface FakeBroker {
    refuse: (key: string) => Refusal | undefined;
}
type GlobalCallback = (event: string, data: unknown) => void;

export class FakeChannel implements ChannelLike {
    subscribed = false;
    pending = false;
    cancelled = false;
    /** Presence channels only, like pusher-js: `user_id` -> `user_info` of the members, set on subscription. */
    readonly members?: { members: Record<string, unknown> };
    readonly named = new Map<string, Callback[]>();
    readonly globals: GlobalCallback[] = [];

    constructor(
        readonly name: string,
        private readonly client: FakePusher
    ) {
        if (name.startsWith("presence-")) {
            this.members = { members: {} };
        }
    }

    bind(event: string, callback: Callback): this {
        this.named.set(event, [...(this.named.get(event) ?? []), callback]);
        return this;
    }

    unbind(event: string, callback: Callback): this {
        this.named.set(
            event,
            (this.named.get(event) ?? []).filter(existing => existing !== callback)
        );
        return this;
    }

    bind_global(callback: GlobalCallback): this {
        this.globals.push(callback);
        return this;
    }

    unbind_global(callback: GlobalCallback): this {
        const index = this.globals.indexOf(callback);
        if (index >= 0) {
            this.globals.splice(index, 1);
        }
        return this;
    }

    /** Number of handlers bound (named + global), to check cleanup. */
    get handlerCount(): number {
        let count = this.globals.length;
        for (const list of this.named.values()) {
            count += list.length;
        }
        return count;
    }

    emit(event: string, data: unknown): void {
        for (const callback of [...this.globals]) {
            callback(event, data);
        }
        for (const callback of [...(this.named.get(event) ?? [])]) {
            callback(data);
        }
    }

    subscribe(): void {
        if (this.subscribed) {
            return;
        }
        this.pending = true;
        this.cancelled = false;
        this.client.authorizations.push(this.name);
        const authorization = this.client.options.channelAuthorization as
            | {
                  customHandler?: (
                      params: { socketId: string; channelName: string },
                      callback: (error: Error | null, data: { auth: string } | null) => void
                  ) => void;
              }
            | undefined;
        const handler = authorization?.customHandler;
        if (handler === undefined) {
            throw new Error("FakePusher: the manager must authorize channels with a customHandler");
        }
        handler({ socketId: this.client.socketId, channelName: this.name }, (error, data) => {
            if (error !== null || data === null) {
                this.pending = false;
                this.emit("pusher:subscription_error", { type: "AuthError", error: error?.message ?? "no auth" });
                return;
            }
            this.client.sentAuth.set(this.name, data.auth);
            this.pending = false;
            this.subscribed = true;
            if (this.cancelled) {
                this.client.unsubscribe(this.name);
            } else if (this.members) {
                // pusher-js takes the members from the server's subscription_succeeded, then emits its Members.
                this.members.members = { ...(this.client.presence.get(this.name) ?? {}) };
                this.emit("pusher:subscription_succeeded", this.members);
            } else {
                this.emit("pusher:subscription_succeeded", {});
            }
        });
    }
}

export class FakePusher implements PusherLike {
    readonly channels = new Map<string, FakeChannel>();
    readonly connectionHandlers = new Map<string, Callback[]>();
    /** Channel names authorized so far, in order (repeats = retries). */
    readonly authorizations: string[] = [];
    readonly sentAuth = new Map<string, string>();
    readonly unsubscribed: string[] = [];
    /** The server side of presence channels: the members each presence channel has (`user_id` -> `user_info`). */
    readonly presence = new Map<string, Record<string, unknown>>();
    state: "initialized" | "connecting" | "connected" | "unavailable" | "disconnected" = "initialized";
    disconnected = false;
    /** Whether a connection attempt can reach the server; while false, attempts hang in "connecting". */
    reachable = true;
    /** Calls of connect() and disconnect() (the constructor's own connect() included). */
    connectCalls = 0;
    disconnectCalls = 0;
    readonly socketId = "123.456";
    /** Identifies the current connection attempt, so a stale one never completes. */
    private attempt = 0;

    readonly connection = {
        bind: (event: string, callback: Callback): void => {
            this.connectionHandlers.set(event, [...(this.connectionHandlers.get(event) ?? []), callback]);
        }
    };

    constructor(
        readonly key: string,
        readonly options: Options,
        reachable = true,
        private readonly broker: FakeBroker = { refuse: () => undefined }
    ) {
        this.reachable = reachable;
        // pusher-js starts connecting on construction and connects asynchronously.
        this.connect();
    }

    connect(): void {
        if (this.state === "connecting" || this.state === "connected") {
            return;
        }
        this.connectCalls++;
        this.disconnected = false;
        this.setState("connecting");
        this.attemptConnection();
    }

    private attemptConnection(): void {
        const attempt = ++this.attempt;
        if (!this.reachable) {
            return;
        }
        queueMicrotask(() => {
            if (attempt !== this.attempt || this.state !== "connecting") {
                return;
            }
            const refusal = this.broker.refuse(this.key);
            if (refusal === undefined) {
                this.setState("connected");
            } else {
                this.refuse(refusal.code, refusal.message);
            }
        });
    }

    /**
     * The server refuses the connection with close code `code` (4001 = unknown app key), as pusher-js 8 reports it:
     * during the handshake ONE `error` event `{ type: "WebSocketError", error: { type: "PusherError", data: { code,
     * message } } }`; on an established connection first the close error `{ type: "PusherError", data }`, then that
     * same WebSocketError. Either way pusher-js then calls its own `disconnect()`: the state goes to "disconnected"
     * (not "failed") and it never reconnects by itself.
     */
    refuse(code = 4001, message = "App key not found", established = false): void {
        const data = { code, message };
        if (established) {
            this.emitConnection("error", { type: "PusherError", data });
        }
        this.emitConnection("error", { type: "WebSocketError", error: { type: "PusherError", data } });
        this.attempt++;
        this.disconnected = true;
        this.setState("disconnected");
    }

    /**
     * The server closes the socket with `code` (4200 = restart): pusher-js reports the error and retries at once
     * (that attempt succeeds only while `reachable`).
     */
    drop(code = 4200): void {
        this.emitConnection("error", { type: "WebSocketError", error: { type: "PusherError", data: { code } } });
        this.setState("connecting");
        this.attemptConnection();
    }

    /** pusher-js's own late retry succeeds (after its transport timeout). */
    recover(): void {
        if (this.state !== "connected" && !this.disconnected) {
            this.attempt++;
            this.setState("connected");
        }
    }

    emitConnection(event: string, data: unknown): void {
        for (const callback of [...(this.connectionHandlers.get(event) ?? [])]) {
            callback(data);
        }
    }

    setState(state: FakePusher["state"]): void {
        if (this.disconnected && state !== "disconnected") {
            return;
        }
        const previous = this.state;
        if (previous === state) {
            // pusher-js reports changes only.
            return;
        }
        this.state = state;
        for (const callback of this.connectionHandlers.get("state_change") ?? []) {
            callback({ previous, current: state });
        }
        if (state === "connected") {
            for (const channel of this.channels.values()) {
                if (!channel.pending) {
                    channel.subscribe();
                }
            }
        } else {
            for (const channel of this.channels.values()) {
                channel.subscribed = false;
                channel.pending = false;
            }
        }
    }

    subscribe(name: string): FakeChannel {
        let channel = this.channels.get(name);
        if (channel === undefined) {
            channel = new FakeChannel(name, this);
            this.channels.set(name, channel);
        }
        if (channel.pending && channel.cancelled) {
            channel.cancelled = false;
        } else if (!channel.pending && this.state === "connected") {
            channel.subscribe();
        }
        return channel;
    }

    unsubscribe(name: string): void {
        const channel = this.channels.get(name);
        if (channel?.pending) {
            channel.cancelled = true;
            return;
        }
        this.channels.delete(name);
        if (channel?.subscribed) {
            channel.subscribed = false;
            this.unsubscribed.push(name);
        }
    }

    disconnect(): void {
        this.disconnectCalls++;
        this.attempt++;
        this.disconnected = true;
        this.setState("disconnected");
    }

    /**
     * A member joins a presence channel, as the broker tells pusher-js (`pusher_internal:member_added`; a user's
     * second connection is not told): pusher-js keeps one entry per `user_id` and emits `pusher:member_added`.
     */
    memberAdded(channel: string, userId: string, info: unknown): void {
        this.presence.set(channel, { ...(this.presence.get(channel) ?? {}), [userId]: info });
        const target = this.channels.get(channel);
        if (target?.subscribed && target.members) {
            target.members.members[userId] = info;
            target.emit("pusher:member_added", { id: userId, info });
        }
    }

    /** A member leaves a presence channel (its last connection closed): `pusher:member_removed`. */
    memberRemoved(channel: string, userId: string): void {
        const members = { ...(this.presence.get(channel) ?? {}) };
        delete members[userId];
        this.presence.set(channel, members);
        const target = this.channels.get(channel);
        if (target?.subscribed && target.members && userId in target.members.members) {
            const info = target.members.members[userId];
            delete target.members.members[userId];
            target.emit("pusher:member_removed", { id: userId, info });
        }
    }

    /** A notification from the server: delivered like pusher-js delivers a channel event. */
    trigger(channel: string, action: string, payload: unknown): void {
        const target = this.channels.get(channel);
        if (target === undefined || !target.subscribed) {
            throw new Error(`FakePusher: not subscribed to ${channel}`);
        }
        target.emit(action, payload);
    }
}

/**
 * Collects every client the manager creates; `reachable: false` makes their first connection attempt hang. `broker`
 * decides which app keys the server refuses (none by default; with `acceptKey`, every key but that one with 4001).
 */
export function fakePusherFactory(settings: { reachable?: boolean; acceptKey?: string } = {}): {
    clients: FakePusher[];
    create: (key: string, options: Options) => FakePusher;
    broker: FakeBroker;
} {
    const clients: FakePusher[] = [];
    const broker: FakeBroker = { refuse: () => undefined };
    if (settings.acceptKey !== undefined) {
        broker.refuse = refuseAllBut(settings.acceptKey);
    }
    return {
        clients,
        broker,
        create: (key, options) => {
            const client = new FakePusher(key, options, settings.reachable ?? true, broker);
            clients.push(client);
            return client;
        }
    };
}

/** A broker that knows only `accepted`, like the embedded broker: any other key is refused with 4001. */
export function refuseAllBut(accepted: string): FakeBroker["refuse"] {
    return key => (key === accepted ? undefined : { code: 4001, message: "App key not found" });
}

export interface RecordedRequest {
    url: string;
    method: string;
    headers: Record<string, string>;
    credentials?: RequestCredentials;
    body?: string;
}

type Responder = (request: RecordedRequest) => Response | Promise<Response> | Error;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json", ...headers }
    });
}

/**
 * A fetch for `<server>/rest/pusher/key` and `/rest/pusher/auth`: answers from `key` and `auth` responders (an
 * Error return value = network failure) and records every request.
 */
export function fakeFetch(responders: { key?: Responder; auth?: Responder } = {}): {
    fetch: (input: string, init?: RequestInit) => Promise<Response>;
    requests: RecordedRequest[];
    responders: { key: Responder; auth: Responder };
} {
    const requests: RecordedRequest[] = [];
    const current = {
        key:
            responders.key ??
            (() => json({ key: "app-key", cluster: "local", wsHost: "127.0.0.1", wsPort: 6001, forceTLS: false })),
        auth:
            responders.auth ??
            ((request: RecordedRequest) => {
                const channel = new URLSearchParams(request.body ?? "").get("channel_name");
                return json({ auth: `app-key:signature-for-${channel}` });
            })
    };
    const fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
        const headers: Record<string, string> = {};
        new Headers(init.headers).forEach((value, key) => {
            headers[key] = value;
        });
        const request: RecordedRequest = {
            url: input,
            method: init.method ?? "GET",
            headers,
            credentials: init.credentials,
            body: typeof init.body === "string" ? init.body : undefined
        };
        requests.push(request);
        const responder = input.endsWith("/rest/pusher/key")
            ? current.key
            : input.endsWith("/rest/pusher/auth")
              ? current.auth
              : () => json({ error: { code: "not_found", message: "Not found" } }, 404);
        const answer = await responder(request);
        if (answer instanceof Error) {
            throw answer;
        }
        return answer;
    };
    return { fetch, requests, responders: current };
}
