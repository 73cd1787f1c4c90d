/**
 * Property-based bad input against the embedded broker as the server runs it (createApp, same port): the
 * Pusher HTTP events API (stale, future, replayed and forged signatures, wrong body_md5, missing parameters,
 * bad event/channel names, huge data, malformed JSON, deep nesting) and WebSocket frames (malformed JSON,
 * wrong types, unknown events, forged subscription signatures, another socket's signature, presence without
 * channel_data, client events where they are not allowed, oversized and binary frames).
 *
 * Invariants: never a 5xx; the broker's HTTP refusals answer like Pusher (text/plain, 400/401/404/413, a short
 * message without a stack trace); an event is delivered only for a correctly signed, valid request, exactly
 * once per watched channel; a private or presence subscription succeeds only with the signature of that socket
 * and channel; every bad frame gets a `pusher:error` / `pusher:subscription_error` and the socket stays open;
 * afterwards the server is healthy and delivers; no secret appears anywhere.
 */
import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import type PusherClient from "pusher-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
    BEARER,
    BROKER,
    checkProperty,
    createListener,
    request,
    startApp,
    until,
    type Answer,
    type AppUnderTest
} from "./harness";

const PER_RUN = 20;
/** A fuzz property may take a while on a busy machine; every request inside is still bounded. */
const FUZZ_TIMEOUT_MS = 90_000;
const HTTP_RUNS = 110;
const WS_RUNS = 100;
const SOCKETS = 4;
const WATCHED = ["private-BrokerFuzz.1", "BrokerFuzz-public"];
const CHANNEL_RE = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;

const tried = { http: 0, frames: 0 };
const outcomes = new Map<string, number>();
const expectedDeliveries = new Map<string, number>();
const receivedDeliveries = new Map<string, number>();

let app: AppUnderTest;
let listener: PusherClient;

function count(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
}

// --- independent implementation of Pusher's API request signature ------------------------------------

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");
const hmac = (secret: string, text: string) => createHmac("sha256", secret).update(text, "utf8").digest("hex");

function signedQuery(
    method: string,
    path: string,
    body: string,
    options: { secret?: string; key?: string; timestamp?: number; params?: Record<string, string> } = {}
): Record<string, string> {
    const query: Record<string, string> = {
        ...options.params,
        auth_key: options.key ?? BROKER.key,
        auth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
        auth_version: "1.0"
    };
    if (body.length > 0) {
        query.body_md5 = md5(body);
    }
    const canonical = Object.keys(query)
        .sort()
        .map(name => `${name}=${query[name]}`)
        .join("&");
    query.auth_signature = hmac(options.secret ?? BROKER.secret, `${method}\n${path}\n${canonical}`);
    return query;
}

function queryString(query: Record<string, string>, extra = ""): string {
    const text = Object.entries(query)
        .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
        .join("&");
    return text + extra;
}

// --- HTTP events API cases --------------------------------------------------------------------------------

const channelName = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...WATCHED, "private-Other.1", "presence-room", "x", "a;b,c=d@e_f-g.h") },
    {
        weight: 2,
        arbitrary: fc.constantFrom(
            "",
            "a b",
            "a:b",
            "über",
            "x".repeat(165),
            "private-a\nb",
            "#a",
            "a/b",
            "..",
            "\u0000"
        )
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) }
);
const eventName = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("refresh", "updated", "client-x", "pusherish", "a") },
    {
        weight: 2,
        arbitrary: fc.constantFrom(
            "",
            "pusher:subscribe",
            "pusher_internal:member_added",
            "x".repeat(201),
            "über ereignis"
        )
    },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant(["a"])) }
);
const eventData = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('{"entity":"A.B","guid":"1"}', "", "plain text", '"quoted"') },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom("x".repeat(10_240), "x".repeat(10_241), "é".repeat(5_121)) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant({ a: 1 })) }
);

interface EventShape {
    name: unknown;
    data: unknown;
    channels?: unknown;
    channel?: unknown;
    socket_id?: unknown;
    info?: unknown;
}

const eventShape: fc.Arbitrary<EventShape> = fc
    .record({
        name: eventName,
        data: eventData,
        target: fc.oneof(
            { weight: 4, arbitrary: fc.array(channelName, { minLength: 1, maxLength: 3 }).map(c => ({ channels: c })) },
            { weight: 2, arbitrary: channelName.map(c => ({ channel: c })) },
            {
                weight: 1,
                arbitrary: fc.constantFrom<Record<string, unknown>>(
                    { channels: [] },
                    { channels: "private-BrokerFuzz.1" },
                    { channels: [1, 2] },
                    { channels: Array.from({ length: 101 }, (_, i) => `c${i}`) },
                    {}
                )
            }
        ),
        socketId: fc.oneof(
            { weight: 6, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.constantFrom("1.1", "123.456", "1.1:x", "", "1", 12) }
        ),
        info: fc.oneof(
            { weight: 6, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.constantFrom("subscription_count", "user_count,subscription_count", 1) }
        )
    })
    .map(({ name, data, target, socketId, info }) => {
        const shape: EventShape = { name, data, ...target };
        if (socketId !== undefined) shape.socket_id = socketId;
        if (info !== undefined) shape.info = info;
        return shape;
    });

/** Independent oracle of one event: the statuses its problems call for (empty when valid) and its channels. */
function judgeEvent(value: unknown): { problems: Set<number>; channels: string[] } {
    const problems = new Set<number>();
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return { problems: new Set([400]), channels: [] };
    }
    const event = value as EventShape;
    const { name, data } = event;
    if (typeof name !== "string" || name === "" || name.length > 200 || /^pusher(_internal)?:/.test(name)) {
        problems.add(400);
    }
    if (typeof data !== "string") {
        problems.add(400);
    } else if (Buffer.byteLength(data, "utf8") > 10_240) {
        problems.add(413);
    }
    let channels: string[] = [];
    if (event.channels !== undefined) {
        if (!Array.isArray(event.channels) || !event.channels.every(c => typeof c === "string")) {
            problems.add(400);
        } else {
            channels = event.channels as string[];
        }
    } else if (typeof event.channel === "string") {
        channels = [event.channel];
    } else {
        problems.add(400);
    }
    if (
        (event.channels !== undefined || typeof event.channel === "string") &&
        (channels.length === 0 || channels.length > 100 || !channels.every(c => CHANNEL_RE.test(c)))
    ) {
        problems.add(400);
    }
    if (event.socket_id !== undefined && !(typeof event.socket_id === "string" && /^\d+\.\d+$/.test(event.socket_id))) {
        problems.add(400);
    }
    if (event.info !== undefined && typeof event.info !== "string") {
        problems.add(400);
    }
    return { problems, channels: [...new Set(channels)] };
}

type Signing =
    | "valid"
    | "upperHex"
    | "stale"
    | "future"
    | "badTimestamp"
    | "wrongMd5"
    | "missingMd5"
    | "replayOtherBody"
    | "replayOtherPath"
    | "wrongSecret"
    | "wrongKey"
    | "missingSignature"
    | "missingKey"
    | "badVersion"
    | "duplicateParam"
    | "extraParam"
    | "noQuery";

type Target = "events" | "batch" | "channels" | "wrongApp" | "unknownPath";

interface HttpApiCase {
    label: string;
    method: "GET" | "POST";
    url: string;
    body?: string;
    /** Allowed statuses. */
    statuses: number[];
    /** Deliveries a 200 causes (channel names, one per event and channel). */
    deliveries: Array<{ channel: string; socketId?: string }>;
}

const httpApiCase: fc.Arbitrary<HttpApiCase> = fc
    .record({
        target: fc.oneof(
            { weight: 8, arbitrary: fc.constant<Target>("events") },
            { weight: 4, arbitrary: fc.constant<Target>("batch") },
            { weight: 1, arbitrary: fc.constantFrom<Target>("channels", "wrongApp", "unknownPath") }
        ),
        signing: fc.oneof(
            { weight: 10, arbitrary: fc.constant<Signing>("valid") },
            {
                weight: 8,
                arbitrary: fc.constantFrom<Signing>(
                    "upperHex",
                    "stale",
                    "future",
                    "badTimestamp",
                    "wrongMd5",
                    "missingMd5",
                    "replayOtherBody",
                    "replayOtherPath",
                    "wrongSecret",
                    "wrongKey",
                    "missingSignature",
                    "missingKey",
                    "badVersion",
                    "duplicateParam",
                    "extraParam",
                    "noQuery"
                )
            }
        ),
        event: eventShape,
        batch: fc.oneof(
            { weight: 6, arbitrary: fc.array(eventShape, { minLength: 1, maxLength: 4 }) },
            {
                weight: 1,
                arbitrary: fc.constantFrom<EventShape[]>(
                    [],
                    Array.from({ length: 11 }, () => ({ name: "a", data: "", channel: "x" }))
                )
            }
        ),
        raw: fc.oneof(
            { weight: 12, arbitrary: fc.constant<string | undefined>(undefined) },
            {
                weight: 1,
                arbitrary: fc.constantFrom<string | undefined>(
                    "{",
                    "null",
                    "[]",
                    '"text"',
                    `{"name":${"[".repeat(5000)}${"]".repeat(5000)}}`,
                    "\u0000\u0001",
                    `{"batch":${"[".repeat(3000)}${"]".repeat(3000)}}`
                )
            }
        ),
        skew: fc.integer({ min: 601, max: 100_000_000 })
    })
    .map(input => {
        const base = `/apps/${BROKER.appId}`;
        let path: string;
        let method: "GET" | "POST" = "POST";
        let body = "";
        switch (input.target) {
            case "events":
                path = `${base}/events`;
                body = input.raw ?? JSON.stringify(input.event);
                break;
            case "batch":
                path = `${base}/batch_events`;
                body = input.raw ?? JSON.stringify({ batch: input.batch });
                break;
            case "channels":
                path = `${base}/channels`;
                method = "GET";
                break;
            case "wrongApp":
                path = `/apps/1${BROKER.appId}/events`;
                body = JSON.stringify(input.event);
                break;
            case "unknownPath":
                path = `${base}/nothing`;
                body = JSON.stringify(input.event);
                break;
        }
        const now = Math.floor(Date.now() / 1000);
        let query: Record<string, string> = signedQuery(method, path, body);
        let extra = "";
        switch (input.signing) {
            case "valid":
                break;
            case "upperHex":
                query.auth_signature = query.auth_signature.toUpperCase();
                break;
            case "stale":
                query = signedQuery(method, path, body, { timestamp: now - input.skew });
                break;
            case "future":
                // A minute of margin: the server's clock moves on while the case runs (a stale one only gets staler).
                query = signedQuery(method, path, body, { timestamp: now + input.skew + 60 });
                break;
            case "badTimestamp":
                query = signedQuery(method, path, body, { params: {} });
                query.auth_timestamp = `${now}.5`;
                break;
            case "wrongMd5":
                query.body_md5 = md5(`${body} `);
                break;
            case "missingMd5":
                if (body.length > 0) {
                    delete query.body_md5;
                } else {
                    query.body_md5 = md5("x");
                }
                break;
            case "replayOtherBody":
                // A captured, correctly signed query replayed with another body.
                query = signedQuery(method, path, JSON.stringify({ name: "refresh", data: "", channel: "x" }));
                break;
            case "replayOtherPath":
                query = signedQuery(method, path.endsWith("/events") ? `${base}/batch_events` : `${base}/events`, body);
                break;
            case "wrongSecret":
                query = signedQuery(method, path, body, { secret: `${BROKER.secret}x` });
                break;
            case "wrongKey":
                query = signedQuery(method, path, body, { key: "not-the-key" });
                break;
            case "missingSignature":
                delete query.auth_signature;
                break;
            case "missingKey":
                delete query.auth_key;
                break;
            case "badVersion":
                query = signedQuery(method, path, body, { params: {} });
                query.auth_version = "2.0";
                break;
            case "duplicateParam":
                extra = `&auth_timestamp=${now}`;
                break;
            case "extraParam":
                extra = "&channel=private-BrokerFuzz.1";
                break;
            case "noQuery":
                query = {};
                break;
        }
        const label = `${method} ${path} signing=${input.signing} body=${body.slice(0, 200)}`;
        const url = `${path}?${queryString(query, extra)}`;
        const refuse = (statuses: number[]): HttpApiCase => ({
            label,
            method,
            url,
            body: method === "POST" ? body : undefined,
            statuses,
            deliveries: []
        });
        if (input.target === "unknownPath" || input.target === "wrongApp") {
            return refuse([404]);
        }
        if (input.signing === "duplicateParam") {
            return refuse([400, 401]);
        }
        if (input.signing !== "valid" && input.signing !== "upperHex") {
            return refuse([401]);
        }
        if (input.target === "channels") {
            return refuse([200]);
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(body);
        } catch {
            return refuse([400]);
        }
        let verdicts: Array<{ problems: Set<number>; channels: string[]; socketId?: string }>;
        if (input.target === "events") {
            verdicts = [{ ...judgeEvent(parsed), socketId: (parsed as EventShape | null)?.socket_id as string }];
        } else {
            const batch = (parsed as { batch?: unknown } | null)?.batch;
            if (
                parsed === null ||
                typeof parsed !== "object" ||
                !Array.isArray(batch) ||
                batch.length === 0 ||
                batch.length > 10
            ) {
                return refuse([400]);
            }
            verdicts = batch.map(entry => ({
                ...judgeEvent(entry),
                socketId: (entry as EventShape | null)?.socket_id as string
            }));
        }
        const problems = new Set(verdicts.flatMap(verdict => [...verdict.problems]));
        if (problems.size > 0) {
            return refuse([...problems]);
        }
        return {
            label,
            method,
            url,
            body,
            statuses: [200],
            deliveries: verdicts.flatMap(verdict =>
                verdict.channels.map(channel => ({ channel, socketId: verdict.socketId }))
            )
        };
    });

function checkHttpApi(testCase: HttpApiCase, answer: Answer): string | null {
    const where = `${testCase.label}\n  -> ${answer.status} ${answer.contentType} ${answer.text.slice(0, 300)}`;
    if (answer.status >= 500) {
        return `5xx: ${where}`;
    }
    if (!testCase.statuses.includes(answer.status)) {
        return `expected ${testCase.statuses.join("|")}: ${where}`;
    }
    count(outcomes, `http ${answer.status}`);
    if (answer.status === 200) {
        if (answer.json === undefined || typeof answer.json !== "object") {
            return `200 without a JSON object: ${where}`;
        }
        for (const delivery of testCase.deliveries) {
            if (WATCHED.includes(delivery.channel) && delivery.socketId !== listener.connection.socket_id) {
                count(expectedDeliveries, delivery.channel);
            }
        }
        return null;
    }
    if (testCase.label.includes("/nothing")) {
        // Not a broker route: the server's JSON 404.
        return (answer.json as { error?: { code?: string } } | undefined)?.error?.code === "not_found"
            ? null
            : `expected the JSON not_found: ${where}`;
    }
    // The broker answers like Pusher: a short text/plain message.
    if (!answer.contentType.startsWith("text/plain") || answer.text.length === 0 || answer.text.length > 500) {
        return `expected a short text/plain refusal: ${where}`;
    }
    if (/\n\s+at /.test(answer.text) || answer.text.includes(BROKER.secret)) {
        return `refusal leaks internals: ${where}`;
    }
    return null;
}

// --- WebSocket frames ------------------------------------------------------------------------------------

interface FuzzSocket {
    ws: WebSocket;
    socketId: string;
    index: number;
    received: Array<{ event?: string; channel?: string; data?: unknown }>;
    /** Channels this socket joined (the oracle needs it: joining again is idempotent). */
    joined: Set<string>;
    /** Counter of the sync channels used to delimit answers. */
    syncs: number;
    closed?: { code: number; reason: string };
}

async function openSocket(index: number): Promise<FuzzSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${app.port}/app/${BROKER.key}?protocol=7&client=fuzz&version=1`);
    const socket: FuzzSocket = { ws, socketId: "", index, received: [], joined: new Set(), syncs: 0 };
    ws.on("message", (raw: Buffer) => {
        const text = raw.toString("utf8");
        app.evidence.other.push(text);
        let frame: FuzzSocket["received"][number];
        try {
            frame = JSON.parse(text) as FuzzSocket["received"][number];
            if (typeof frame.data === "string") {
                try {
                    frame.data = JSON.parse(frame.data);
                } catch {
                    // keep the string
                }
            }
        } catch {
            frame = { event: "(unparsable)", data: text };
        }
        socket.received.push(frame);
    });
    ws.on("close", (code, reason) => {
        socket.closed = { code, reason: reason.toString() };
    });
    ws.on("error", () => undefined);
    await until(() => socket.received.some(f => f.event === "pusher:connection_established"), 5_000, "the handshake");
    const established = socket.received.find(f => f.event === "pusher:connection_established")!;
    socket.socketId = (established.data as { socket_id: string }).socket_id;
    socket.received.length = 0;
    return socket;
}

type AuthPick =
    | "none"
    | "correct"
    | "upper"
    | "otherSocket"
    | "otherChannel"
    | "wrongKey"
    | "wrongSecret"
    | "garbage"
    | "number"
    | "noColon";
type ChannelPick = "public" | "private" | "presence" | "invalid";

type FrameCase =
    | { kind: "raw"; text: string }
    | {
          kind: "subscribe";
          channel: ChannelPick;
          invalidName: string;
          n: number;
          auth: AuthPick;
          channelData: unknown;
          asString: boolean;
      }
    | { kind: "unsubscribe"; channel: unknown }
    | { kind: "client"; where: "own" | "public" | "notJoined"; data: unknown }
    | { kind: "unknown"; event: string }
    | { kind: "tooLarge"; size: number }
    | { kind: "binary" }
    | { kind: "ping" };

const frameCase: fc.Arbitrary<FrameCase> = fc.oneof(
    {
        weight: 3,
        arbitrary: fc
            .oneof(
                fc.constantFrom(
                    "",
                    "{",
                    "null",
                    "[]",
                    "42",
                    '"pusher:ping"',
                    "{}",
                    '{"event":1}',
                    '{"event":""}',
                    '{"event":"pusher:subscribe"}',
                    '{"event":"pusher:subscribe","data":"not json"}',
                    '{"event":"pusher:subscribe","data":{"channel":5}}',
                    '{"event":"pusher:subscribe","data":[]}',
                    '{"event":"pusher:unsubscribe","data":null}',
                    '{"event":"client-x","channel":7,"data":{}}',
                    `{"event":"pusher:subscribe","data":${"[".repeat(2000)}${"]".repeat(2000)}}`,
                    `{"event":${"[".repeat(2000)}${"]".repeat(2000)}}`
                ),
                fc.string({ unit: "binary", maxLength: 100 }),
                fc.json({ maxDepth: 4 })
            )
            .map(text => ({ kind: "raw" as const, text }))
    },
    {
        weight: 6,
        arbitrary: fc.record({
            kind: fc.constant("subscribe" as const),
            channel: fc.constantFrom<ChannelPick>("public", "private", "private", "presence", "invalid"),
            invalidName: fc.constantFrom("", "a b", "x".repeat(165), "über", "private-a:b", "private-\n"),
            n: fc.integer({ min: 0, max: 40 }),
            auth: fc.constantFrom<AuthPick>(
                "none",
                "correct",
                "correct",
                "upper",
                "otherSocket",
                "otherChannel",
                "wrongKey",
                "wrongSecret",
                "garbage",
                "number",
                "noColon"
            ),
            channelData: fc.oneof(
                fc.constant<unknown>(undefined),
                fc.constantFrom<unknown>(
                    '{"user_id":"u1"}',
                    '{"user_id":7,"user_info":{"n":"x"}}',
                    "{}",
                    "nope",
                    '{"user_id":""}',
                    5
                )
            ),
            asString: fc.boolean()
        })
    },
    {
        weight: 1,
        arbitrary: fc
            .oneof(fc.constantFrom<unknown>("private-none", "x", "", 5, null), fc.string({ maxLength: 10 }))
            .map(channel => ({ kind: "unsubscribe" as const, channel }))
    },
    {
        weight: 2,
        arbitrary: fc.record({
            kind: fc.constant("client" as const),
            where: fc.constantFrom<"own" | "public" | "notJoined">("own", "public", "notJoined"),
            data: fc.oneof(fc.constant<unknown>({ a: 1 }), fc.constant<unknown>("text"), fc.json({ maxDepth: 2 }))
        })
    },
    {
        weight: 1,
        arbitrary: fc
            .constantFrom("pusher:foo", "pusher_internal:subscription_succeeded", "refresh", "PUSHER:PING", "client")
            .map(event => ({ kind: "unknown" as const, event }))
    },
    {
        weight: 1,
        arbitrary: fc.integer({ min: 10_241, max: 60_000 }).map(size => ({ kind: "tooLarge" as const, size }))
    },
    { weight: 1, arbitrary: fc.constant({ kind: "binary" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "ping" as const }) }
);

const channelAuth = (socketId: string, channel: string, channelData?: string, secret = BROKER.secret) =>
    hmac(secret, channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`);

interface BuiltFrame {
    payload: string | Buffer;
    binary?: boolean;
    /** Checks the frames answered (before our sync pong); returns a problem or null. */
    check(frames: FuzzSocket["received"]): string | null;
    label: string;
    /** Channel joined when the frame is answered as expected. */
    joins?: string;
    /** Channel left by the frame. */
    leaves?: string;
}

function only(
    frames: FuzzSocket["received"],
    allowed: (frame: FuzzSocket["received"][number]) => boolean,
    label: string
) {
    const bad = frames.filter(frame => !allowed(frame));
    return bad.length === 0 ? null : `${label}: unexpected ${JSON.stringify(bad).slice(0, 500)}`;
}

function isError(codes: number[]) {
    return (frame: FuzzSocket["received"][number]) =>
        frame.event === "pusher:error" &&
        codes.includes((frame.data as { code?: number }).code ?? -1) &&
        typeof (frame.data as { message?: unknown }).message === "string";
}

function exactlyOne(
    frames: FuzzSocket["received"],
    test: (frame: FuzzSocket["received"][number]) => boolean,
    label: string
) {
    return frames.length === 1 && test(frames[0]) ? null : `${label}: got ${JSON.stringify(frames).slice(0, 500)}`;
}

function buildFrame(testCase: FrameCase, socket: FuzzSocket, other: FuzzSocket): BuiltFrame {
    const s = socket.index;
    switch (testCase.kind) {
        case "raw": {
            const label = `raw ${JSON.stringify(testCase.text.slice(0, 120))}`;
            return {
                payload: testCase.text,
                label,
                // Whatever the text, the answer is at most one frame: an error, a pong, a subscription answer.
                check: frames =>
                    frames.length <= 1
                        ? only(
                              frames,
                              frame =>
                                  isError([4300, 4301, 4302, 4303])(frame) ||
                                  frame.event === "pusher:pong" ||
                                  frame.event === "pusher:subscription_error" ||
                                  (frame.event === "pusher_internal:subscription_succeeded" &&
                                      typeof frame.channel === "string" &&
                                      !frame.channel.startsWith("private-") &&
                                      !frame.channel.startsWith("presence-")),
                              label
                          )
                        : `${label}: more than one answer ${JSON.stringify(frames).slice(0, 300)}`
            };
        }
        case "subscribe": {
            const channel =
                testCase.channel === "public"
                    ? `ws-fuzz-${s}-${testCase.n}`
                    : testCase.channel === "private"
                      ? `private-ws-fuzz-${s}-${testCase.n}`
                      : testCase.channel === "presence"
                        ? `presence-ws-fuzz-${s}-${testCase.n}`
                        : testCase.invalidName;
            const channelData = testCase.channelData;
            const dataText = typeof channelData === "string" ? channelData : undefined;
            // Only presence signatures cover channel_data; private channels ignore it.
            const signedData = testCase.channel === "presence" ? dataText : undefined;
            const signature = (() => {
                switch (testCase.auth) {
                    case "none":
                        return undefined;
                    case "correct":
                        return `${BROKER.key}:${channelAuth(socket.socketId, channel, signedData)}`;
                    case "upper":
                        return `${BROKER.key}:${channelAuth(socket.socketId, channel, signedData).toUpperCase()}`;
                    case "otherSocket":
                        return `${BROKER.key}:${channelAuth(other.socketId, channel, signedData)}`;
                    case "otherChannel":
                        return `${BROKER.key}:${channelAuth(socket.socketId, `${channel}x`, signedData)}`;
                    case "wrongKey":
                        return `other:${channelAuth(socket.socketId, channel, signedData)}`;
                    case "wrongSecret":
                        return `${BROKER.key}:${channelAuth(socket.socketId, channel, signedData, "guess")}`;
                    case "garbage":
                        return `${BROKER.key}:zz`;
                    case "number":
                        return 12345;
                    case "noColon":
                        return channelAuth(socket.socketId, channel, signedData);
                }
            })();
            const data: Record<string, unknown> = { channel };
            if (signature !== undefined) data.auth = signature;
            if (channelData !== undefined) data.channel_data = channelData;
            const payload = JSON.stringify({
                event: "pusher:subscribe",
                data: testCase.asString ? JSON.stringify(data) : data
            });
            const label = `subscribe ${channel} auth=${testCase.auth} channel_data=${JSON.stringify(channelData)}`;
            const nameOk = CHANNEL_RE.test(channel);
            const signed = testCase.auth === "correct" || testCase.auth === "upper";
            let expected: "ok" | number;
            if (!nameOk) {
                expected = 400;
            } else if (testCase.channel === "public") {
                expected = "ok";
            } else if (testCase.channel === "private") {
                expected = signed ? "ok" : 401;
            } else {
                // presence: needs string channel_data covered by the signature, then a usable user_id.
                const usable =
                    dataText !== undefined &&
                    (() => {
                        try {
                            const parsed = JSON.parse(dataText) as { user_id?: unknown };
                            return (
                                (typeof parsed.user_id === "string" && parsed.user_id !== "") ||
                                typeof parsed.user_id === "number"
                            );
                        } catch {
                            return false;
                        }
                    })();
                expected = dataText === undefined || !signed ? 401 : usable || socket.joined.has(channel) ? "ok" : 400;
            }
            return {
                payload,
                label,
                joins: expected === "ok" ? channel : undefined,
                check: frames =>
                    exactlyOne(
                        frames,
                        frame =>
                            frame.channel === channel &&
                            (expected === "ok"
                                ? frame.event === "pusher_internal:subscription_succeeded"
                                : frame.event === "pusher:subscription_error" &&
                                  (frame.data as { status?: number }).status === expected),
                        `${label} expected ${expected}`
                    )
            };
        }
        case "unsubscribe":
            return {
                leaves: typeof testCase.channel === "string" ? testCase.channel : undefined,
                payload: JSON.stringify({ event: "pusher:unsubscribe", data: { channel: testCase.channel } }),
                label: `unsubscribe ${JSON.stringify(testCase.channel)}`,
                check: frames =>
                    typeof testCase.channel === "string"
                        ? frames.length === 0
                            ? null
                            : `unsubscribe answered ${JSON.stringify(frames)}`
                        : exactlyOne(frames, isError([4300]), "unsubscribe without a channel")
            };
        case "client": {
            const channel =
                testCase.where === "own"
                    ? `private-ws-fuzz-${s}-own`
                    : testCase.where === "public"
                      ? `ws-fuzz-${s}-0`
                      : `private-ws-fuzz-${s}-never`;
            const label = `client event on ${channel}`;
            return {
                payload: JSON.stringify({ event: "client-fuzz", channel, data: testCase.data }),
                label,
                // On the socket's own private channel it goes to the other subscribers (none) or is rate limited.
                check: frames =>
                    testCase.where === "own"
                        ? only(frames, isError([4301]), label)
                        : exactlyOne(frames, isError([4303]), label)
            };
        }
        case "unknown":
            return {
                payload: JSON.stringify({ event: testCase.event, data: {} }),
                label: `unknown event ${testCase.event}`,
                check: frames => exactlyOne(frames, isError([4300]), `unknown event ${testCase.event}`)
            };
        case "tooLarge":
            return {
                payload: JSON.stringify({
                    event: "client-big",
                    channel: `private-ws-fuzz-${s}-own`,
                    data: "x".repeat(testCase.size)
                }),
                label: `frame of ${testCase.size} bytes`,
                check: frames => exactlyOne(frames, isError([4302]), `frame of ${testCase.size} bytes`)
            };
        case "binary":
            return {
                payload: Buffer.from([0x7b, 0x00, 0xff]),
                binary: true,
                label: "binary frame",
                check: frames => exactlyOne(frames, isError([4300]), "binary frame")
            };
        case "ping":
            return {
                payload: JSON.stringify({ event: "pusher:ping", data: {} }),
                label: "ping",
                check: frames => exactlyOne(frames, frame => frame.event === "pusher:pong", "ping")
            };
    }
}

/**
 * Sends one frame, then subscribes to (and leaves) a unique public sync channel: frames are handled in order,
 * so everything received before the sync channel's `subscription_succeeded` answers the fuzzed frame.
 */
async function exchange(socket: FuzzSocket, frame: BuiltFrame): Promise<FuzzSocket["received"]> {
    const start = socket.received.length;
    const sync = `sync-${socket.index}-${socket.syncs++}`;
    socket.ws.send(frame.payload, { binary: frame.binary === true });
    socket.ws.send(JSON.stringify({ event: "pusher:subscribe", data: { channel: sync } }));
    socket.ws.send(JSON.stringify({ event: "pusher:unsubscribe", data: { channel: sync } }));
    const isSync = (f: FuzzSocket["received"][number]) =>
        f.event === "pusher_internal:subscription_succeeded" && f.channel === sync;
    await until(
        () => socket.received.slice(start).some(isSync) || socket.closed !== undefined,
        5_000,
        `the answer to ${frame.label}`,
        1
    );
    const answered = socket.received.slice(start);
    return answered.slice(0, answered.findIndex(isSync));
}

const sockets: FuzzSocket[] = [];

beforeAll(async () => {
    // The whole protocol surface, opt-in features included: public channels (the sync channels and one watched
    // channel), client events, and room for every channel the fuzzer joins. The least-privilege defaults are
    // covered by test/security/.
    app = await startApp({
        LOG_LEVEL: "info",
        BROKER_PUBLIC_CHANNELS: "true",
        BROKER_CLIENT_EVENTS: "true",
        BROKER_MAX_SUBSCRIPTIONS: "1000"
    });
    listener = createListener(app, BEARER);
    await Promise.all(
        WATCHED.map(
            name =>
                new Promise<void>((resolve, reject) => {
                    const channel = listener.subscribe(name);
                    channel.bind("pusher:subscription_succeeded", () => resolve());
                    channel.bind("pusher:subscription_error", (error: unknown) =>
                        reject(new Error(`subscription refused: ${JSON.stringify(error)}`))
                    );
                    channel.bind_global((event: string) => {
                        if (!event.startsWith("pusher:")) {
                            count(receivedDeliveries, name);
                        }
                    });
                })
        )
    );
    for (let index = 0; index < SOCKETS; index++) {
        sockets.push(await openSocket(index));
    }
    // Each socket joins its own private channel (for client events) with a correct signature.
    for (const socket of sockets) {
        const channel = `private-ws-fuzz-${socket.index}-own`;
        socket.ws.send(
            JSON.stringify({
                event: "pusher:subscribe",
                data: { channel, auth: `${BROKER.key}:${channelAuth(socket.socketId, channel)}` }
            })
        );
        await until(
            () =>
                socket.received.some(
                    f => f.event === "pusher_internal:subscription_succeeded" && f.channel === channel
                ),
            5_000,
            "the own channel"
        );
        socket.received.length = 0;
    }
});

afterAll(async () => {
    for (const socket of sockets) {
        socket.ws.terminate();
    }
    listener?.disconnect();
    await app?.close();
    console.log(
        `[reliability] broker fuzz: ${tried.http + tried.frames} requests (HTTP events API ${tried.http}, WebSocket frames ${tried.frames}); ` +
            `outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; deliveries ${JSON.stringify(Object.fromEntries(receivedDeliveries))}`
    );
});

describe("fuzzed input to the embedded broker", () => {
    it(
        "HTTP events API: no 5xx, Pusher-style refusals, events only for correctly signed valid requests",
        async () => {
            await checkProperty(
                fc.array(httpApiCase, { minLength: PER_RUN, maxLength: PER_RUN }),
                HTTP_RUNS,
                async cases => {
                    tried.http += cases.length;
                    const answers = await Promise.all(
                        cases.map(testCase =>
                            request(app.evidence, `${app.url}${testCase.url}`, {
                                method: testCase.method,
                                headers: testCase.method === "POST" ? { "Content-Type": "application/json" } : {},
                                body: testCase.body
                            })
                        )
                    );
                    const problems = cases
                        .map((testCase, i) => checkHttpApi(testCase, answers[i]))
                        .filter(p => p !== null);
                    if (problems.length > 0) {
                        throw new Error(problems.join("\n"));
                    }
                }
            );
            expect(tried.http).toBeGreaterThanOrEqual(HTTP_RUNS * PER_RUN);
        },
        FUZZ_TIMEOUT_MS
    );

    it(
        "WebSocket frames: every bad frame is answered, no forged subscription succeeds, sockets stay open",
        async () => {
            let run = 0;
            await checkProperty(
                fc.array(frameCase, { minLength: PER_RUN, maxLength: PER_RUN }),
                WS_RUNS,
                async cases => {
                    const socket = sockets[run % SOCKETS];
                    const other = sockets[(run + 1) % SOCKETS];
                    run++;
                    for (const testCase of cases) {
                        tried.frames++;
                        const frame = buildFrame(testCase, socket, other);
                        const answered = await exchange(socket, frame);
                        if (socket.closed !== undefined) {
                            throw new Error(`${frame.label}: the socket was closed ${JSON.stringify(socket.closed)}`);
                        }
                        const problem = frame.check(answered);
                        if (problem !== null) {
                            throw new Error(problem);
                        }
                        if (frame.joins !== undefined) socket.joined.add(frame.joins);
                        if (frame.leaves !== undefined) socket.joined.delete(frame.leaves);
                        count(outcomes, `ws ${answered[0]?.event ?? "(no answer)"}`);
                    }
                }
            );
            expect(tried.frames).toBeGreaterThanOrEqual(WS_RUNS * PER_RUN);
            expect(sockets.every(socket => socket.ws.readyState === WebSocket.OPEN)).toBe(true);
        },
        FUZZ_TIMEOUT_MS
    );

    it("a frame beyond the hard limit closes only that socket (1009); the others keep working", async () => {
        const victim = await openSocket(99);
        victim.ws.send("x".repeat(70_000));
        await until(() => victim.closed !== undefined, 5_000, "the close of the oversized socket");
        expect(victim.closed?.code).toBe(1009);
        tried.frames++;
        const pong = await exchange(sockets[0], buildFrame({ kind: "ping" }, sockets[0], sockets[1]));
        expect(pong.map(f => f.event)).toEqual(["pusher:pong"]);
    });

    it("afterwards: deliveries match, the server is healthy, notifies for real, and leaked no secret", async () => {
        const settled = () => WATCHED.every(c => (receivedDeliveries.get(c) ?? 0) >= (expectedDeliveries.get(c) ?? 0));
        await until(settled, 10_000, "the deliveries").catch(() => undefined);
        await new Promise(resolve => setTimeout(resolve, 200));
        const snapshot = (map: Map<string, number>) => Object.fromEntries(WATCHED.map(c => [c, map.get(c) ?? 0]));
        expect(snapshot(receivedDeliveries)).toEqual(snapshot(expectedDeliveries));
        expect(WATCHED.reduce((sum, c) => sum + (expectedDeliveries.get(c) ?? 0), 0)).toBeGreaterThan(30);

        const health = await request(app.evidence, `${app.url}/healthz`);
        expect(health.status).toBe(200);
        const received = new Promise<unknown>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("no final event")), 5_000);
            listener.channel(WATCHED[0]).bind("after-broker-fuzz", (data: unknown) => {
                clearTimeout(timer);
                resolve(data);
            });
        });
        const answer = await request(app.evidence, `${app.url}/rest/pusher/notify`, {
            method: "POST",
            headers: { ...BEARER, "Content-Type": "application/json" },
            body: JSON.stringify({ topic: "BrokerFuzz.1", action: "after-broker-fuzz" })
        });
        expect(answer.status).toBe(200);
        expect(await received).toMatchObject({ entity: "", guid: "", sender: "" });
        expect(app.evidence.leaks()).toEqual([]);
        expect(app.running.broker!.stats().connections).toBe(SOCKETS + 1);
    });
});
