/**
 * fast-check generators of hostile requests for the companion server's HTTP API, each with an independent
 * oracle: the exact status (or status family) and error code the request must get. The oracle re-states the
 * documented rules (docs/architecture.md, "Where each rule lives") with its own regular expressions instead of calling the server's validation code.
 */
import fc from "fast-check";
import { API_KEY, FORBIDDEN_PREFIX, GOOD_COOKIE, GOOD_CSRF } from "./harness";

/** Pusher channel characters; a topic of 1..156 of them gives a valid `private-` channel. */
export const TOPIC_RE = /^[A-Za-z0-9_\-=@,.;]{1,156}$/;
/**
 * A valid topic: Pusher channel characters, at most 156 of them, and not `encrypted-...` (that would make a
 * `private-encrypted-` channel, Pusher's end-to-end encrypted kind, which the pusher SDK cannot sign or trigger
 * without an encryption master key).
 */
export function isValidTopic(topic: string): boolean {
    return TOPIC_RE.test(topic) && !topic.startsWith("encrypted-");
}
/**
 * The user channel's encoding of a Mendix user name (docs/notify.md, "Channel names"), restated: the name's UTF-8
 * bytes, those of A-Z a-z 0-9 _ - . @ as they are, every other byte as =XX (upper-case hex). Undefined for a name
 * with a broken character (an unpaired surrogate has no UTF-8 form).
 */
export function encodeUserNameForOracle(name: string): string | undefined {
    const bytes = Buffer.from(name, "utf8");
    if (bytes.toString("utf8") !== name) return undefined;
    return [...bytes]
        .map(byte => {
            const character = String.fromCharCode(byte);
            return /^[A-Za-z0-9_.@-]$/.test(character)
                ? character
                : "=" + byte.toString(16).toUpperCase().padStart(2, "0");
        })
        .join("");
}

/** The user name an encoded one holds, or undefined unless it is exactly a name's encoding. */
function decodeUserNameForOracle(encoded: string): string | undefined {
    if (!/^(?:[A-Za-z0-9_.@-]|=[0-9A-F]{2})+$/.test(encoded)) return undefined;
    const bytes: number[] = [];
    for (const token of encoded.match(/=[0-9A-F]{2}|[^=]/g) ?? []) {
        bytes.push(token.length === 3 ? parseInt(token.slice(1), 16) : token.charCodeAt(0));
    }
    const raw = Buffer.from(bytes);
    const name = raw.toString("utf8");
    // Bytes that are not UTF-8 decode to U+FFFD and so do not come back.
    return Buffer.from(name, "utf8").equals(raw) && encodeUserNameForOracle(name) === encoded ? name : undefined;
}

/**
 * A topic a notification may name: a valid topic, and when it starts with the reserved `user-` or `broadcast-`,
 * one that names a user (exactly encoded) or a broadcast.
 */
function isNotifiableTopic(topic: string): boolean {
    if (!isValidTopic(topic)) return false;
    if (topic.startsWith("user-")) return decodeUserNameForOracle(topic.slice(5)) !== undefined;
    if (topic.startsWith("broadcast-")) return topic.length > "broadcast-".length;
    return true;
}
const SOCKET_ID_RE = /^\d+\.\d+$/;
const ENTITY_RE = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
const GUID_RE = /^\d{1,20}$/;
const OBJECT_TOPIC_RE = /^([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\.(\d{1,20})$/;
/** Pusher's event-name rules: 1 to 200 characters of any text, none of the reserved prefixes. */
const isValidAction = (value: string) =>
    value.length >= 1 &&
    value.length <= 200 &&
    !value.startsWith("pusher:") &&
    !value.startsWith("pusher_internal:") &&
    !value.startsWith("client-");
export const AUTH_LIMIT = 16 * 1024;
export const NOTIFY_LIMIT = 16 * 1024;
export const BATCH_LIMIT = 1_048_576;
export const MAX_PAYLOAD = 10_240;

/** Channels a listener watches during the fuzz run: deliveries to them are counted exactly. */
export const WATCHED_TOPICS = ["Fuzz.Item.1", "Fuzz.Item.2", "Fuzz.Item.3"];

/** What a request must get: this exact status and, for a refusal, one of `codes` (when given). */
export interface Expectation {
    status: number;
    codes?: string[];
}

export interface HttpCase {
    label: string;
    headers: Record<string, string>;
    body: string | Buffer;
    expect: Expectation;
}

const MISSING = Symbol("missing");
type Field = unknown;

// --- building blocks ------------------------------------------------------------------------------------

const channelChar = fc.constantFrom(..."abcXYZ019_-=@,.;".split(""));
const validTopic = fc.oneof(
    {
        weight: 3,
        arbitrary: fc.constantFrom(
            ...WATCHED_TOPICS,
            "Sales.Order.281474976710657",
            "x",
            "a;b,c=d@e",
            "user-john",
            "user-alice",
            "user-Mary=20Jones",
            "broadcast-all"
        )
    },
    { weight: 2, arbitrary: fc.string({ unit: channelChar, minLength: 1, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: channelChar, minLength: 150, maxLength: 156 }) }
);
const badTopic = fc.oneof(
    fc.constantFrom(
        "",
        " ",
        "a b",
        "a:b",
        "a\nb",
        "a/b",
        "über",
        "x".repeat(157),
        "Sales.Order.1\u0000",
        "%2e%2e",
        "private-a:private-b",
        "encrypted-x",
        "encrypted-",
        "user-",
        "user-=6Aohn",
        "user-=c3=b3",
        "user-=C3",
        "user-a,b",
        "broadcast-"
    ),
    fc.string({ unit: "binary", minLength: 1, maxLength: 30 }).filter(s => !TOPIC_RE.test(s))
);
const wrongType = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant([]),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 })
);
const anyText = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 20 })
);

const validSocketId = fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}.${b}`);
const injectedSocketIds = fc.constantFrom(
    "1.1:private-x",
    "1.1\n",
    "\n1.1",
    "1.1 ",
    " 1.1",
    "1.1.1",
    "-1.1",
    "1e3.1",
    "1.",
    ".1",
    "1",
    "١.١",
    "１.１",
    "0x1.1",
    "1.1%0a",
    "1.1;private-a",
    ""
);
const socketIdField: fc.Arbitrary<Field> = fc.oneof(
    { weight: 6, arbitrary: validSocketId },
    { weight: 3, arbitrary: injectedSocketIds },
    { weight: 1, arbitrary: anyText },
    { weight: 1, arbitrary: wrongType },
    { weight: 1, arbitrary: fc.constant(MISSING) }
);
const channelField: fc.Arbitrary<Field> = fc.oneof(
    { weight: 6, arbitrary: validTopic.map(t => `private-${t}`) },
    { weight: 2, arbitrary: validTopic.map(t => `private-${FORBIDDEN_PREFIX}${t}`.slice(0, 164)) },
    { weight: 1, arbitrary: validTopic.map(t => `presence-${t}`.slice(0, 164)) },
    {
        weight: 3,
        arbitrary: fc.constantFrom(
            "private-a:private-b",
            "private-a\nprivate-b",
            "private-",
            "presence-Sales.Order.1",
            "presence-x",
            "Sales.Order.1",
            "public-x",
            "private-encrypted-",
            "private-encrypted-Sales.Order.1",
            "PRIVATE-x",
            " private-x",
            "private-x ",
            "private-über",
            `private-${"x".repeat(157)}`,
            "private-a%0ab",
            "private-a\u0000",
            "#private-a"
        )
    },
    { weight: 1, arbitrary: badTopic.map(t => `private-${t}`) },
    { weight: 1, arbitrary: anyText },
    { weight: 1, arbitrary: wrongType },
    { weight: 1, arbitrary: fc.constant(MISSING) }
);

function present(value: Field): boolean {
    return value !== MISSING;
}

function objectOf(fields: Record<string, Field>): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(fields)) {
        if (present(value)) {
            result[name] = value;
        }
    }
    return result;
}

/** How a value is written into a form body (objects as JSON: some have no prototype and no toString). */
function formValue(value: unknown): string {
    return value !== null && typeof value === "object" ? (safeJson(value) ?? "") : String(value);
}

function deepArray(depth: number): string {
    return "[".repeat(depth) + "]".repeat(depth);
}

// --- encodings -------------------------------------------------------------------------------------------

type Encoding =
    | "json"
    | "form"
    | "formDuplicate"
    | "jsonArray"
    | "jsonNull"
    | "malformed"
    | "textPlain"
    | "noContentType"
    | "multipart"
    | "latin1"
    | "empty"
    | "deep"
    | "huge";

const encodingArb = (formAllowed: boolean): fc.Arbitrary<Encoding> =>
    fc.oneof(
        { weight: 12, arbitrary: fc.constant<Encoding>("json") },
        { weight: formAllowed ? 12 : 1, arbitrary: fc.constant<Encoding>("form") },
        {
            weight: 1,
            arbitrary: fc.constantFrom<Encoding>(
                "formDuplicate",
                "jsonArray",
                "jsonNull",
                "malformed",
                "textPlain",
                "noContentType",
                "multipart",
                "latin1",
                "empty",
                "deep",
                "huge"
            )
        }
    );

interface Encoded {
    headers: Record<string, string>;
    body: string | Buffer;
    /** Set when the encoding alone decides the answer. */
    expect?: Expectation;
}

const malformedJson = fc.oneof(
    fc.constantFrom(
        '{"socket_id":',
        "{'a':1}",
        "{a:1}",
        '{"a":1,}',
        "[1,2",
        "\u0000",
        "NaN",
        "undefined",
        '{"a":"\\x"}'
    ),
    fc.string({ unit: "binary", minLength: 1, maxLength: 50 })
);

/**
 * Encodes `fields` (an object body) as `encoding` would. Form bodies stringify values; non-form encodings
 * decide the answer themselves (415, 413, 400). `limit` is the route's body limit.
 */
function encode(
    encoding: Encoding,
    fields: Record<string, unknown>,
    limit: number,
    extra: { malformed: string; depth: number; formAllowed: boolean }
): Encoded {
    const json = JSON.stringify(fields);
    const form = () =>
        new URLSearchParams(Object.entries(fields).map(([name, value]) => [name, formValue(value)])).toString();
    const tooLarge = (body: string): Expectation | undefined =>
        Buffer.byteLength(body, "utf8") > limit ? { status: 413, codes: ["payload_too_large"] } : undefined;
    switch (encoding) {
        case "json":
            return { headers: { "Content-Type": "application/json" }, body: json, expect: tooLarge(json) };
        case "form": {
            const body = form();
            return {
                headers: { "Content-Type": "application/x-www-form-urlencoded" },
                body,
                // The content type is checked before the size.
                expect: extra.formAllowed ? tooLarge(body) : { status: 415 }
            };
        }
        case "formDuplicate": {
            const body = `${form()}&socket_id=1.1&socket_id=2.2&channel_name=private-a&channel_name=private-b`;
            return {
                headers: { "Content-Type": "application/x-www-form-urlencoded" },
                body,
                expect: extra.formAllowed ? { status: 400, codes: ["invalid_request"] } : { status: 415 }
            };
        }
        case "jsonArray":
            return {
                headers: { "Content-Type": "application/json" },
                body: `[${json}]`,
                expect: tooLarge(json) ?? { status: 400, codes: ["invalid_request"] }
            };
        case "jsonNull":
            return {
                headers: { "Content-Type": "application/json" },
                body: "null",
                expect: { status: 400, codes: ["invalid_json", "invalid_request"] }
            };
        case "malformed": {
            const body = extra.malformed;
            let valid = true;
            try {
                JSON.parse(body);
            } catch {
                valid = false;
            }
            // A random string that happens to be JSON is still no valid request.
            return {
                headers: { "Content-Type": "application/json" },
                body,
                expect: { status: 400, codes: valid ? ["invalid_json", "invalid_request"] : ["invalid_json"] }
            };
        }
        case "textPlain":
            return { headers: { "Content-Type": "text/plain" }, body: json, expect: { status: 415 } };
        case "noContentType":
            return { headers: {}, body: Buffer.from(json, "utf8"), expect: { status: 415 } };
        case "multipart":
            return {
                headers: { "Content-Type": "multipart/form-data; boundary=xyz" },
                body: `--xyz\r\nContent-Disposition: form-data; name="socket_id"\r\n\r\n1.1\r\n--xyz--\r\n`,
                expect: { status: 415 }
            };
        case "latin1":
            return {
                headers: { "Content-Type": "application/json; charset=latin1" },
                body: json,
                expect: { status: 415, codes: ["unsupported_media_type"] }
            };
        case "empty":
            return {
                headers: { "Content-Type": "application/json" },
                body: "",
                expect: { status: 400, codes: ["invalid_request"] }
            };
        case "deep": {
            const body = `{"socket_id":${deepArray(extra.depth)},"topic":${deepArray(extra.depth)},"notifications":${deepArray(extra.depth)}}`;
            return {
                headers: { "Content-Type": "application/json" },
                body,
                expect: tooLarge(body) ?? { status: 400, codes: ["invalid_request"] }
            };
        }
        case "huge": {
            const body = JSON.stringify({ ...fields, padding: "ü".repeat(Math.ceil(limit / 2) + 10) });
            return { headers: { "Content-Type": "application/json" }, body, expect: { status: 413 } };
        }
    }
}

// --- credentials ---------------------------------------------------------------------------------------

type AuthCredential =
    | "bearer"
    | "wrongBearer"
    | "none"
    | "basicWithSession"
    | "session"
    | "sessionNoCsrf"
    | "badSession"
    | "sessionWrongBearer";

const wrongKeys = fc.oneof(
    fc.constantFrom(
        API_KEY.slice(0, -1),
        `${API_KEY}x`,
        API_KEY.toUpperCase(),
        ` ${API_KEY.slice(1)}`,
        `${API_KEY} ${API_KEY}`,
        "",
        "null",
        "undefined"
    ),
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 80 }).filter(s => s.trim() !== API_KEY)
);

function credentialHeaders(credential: AuthCredential, wrongKey: string): Record<string, string> {
    const bearer = (key: string) => ({ Authorization: `Bearer ${key}`.replace(/[\r\n]/g, "") });
    switch (credential) {
        case "bearer":
            return bearer(API_KEY);
        case "wrongBearer":
            return bearer(wrongKey);
        case "none":
            return {};
        case "basicWithSession":
            return { Authorization: "Basic dXNlcjpwYXNz", Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF };
        case "session":
            return { Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF };
        case "sessionNoCsrf":
            return { Cookie: GOOD_COOKIE };
        case "badSession":
            return { Cookie: "XASSESSIONID=stolen", "X-Csrf-Token": GOOD_CSRF };
        case "sessionWrongBearer":
            return { ...bearer(wrongKey), Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF };
    }
}

/** A wrong Bearer value: anything but the key (after the server's trimming). */
function isWrong(key: string): boolean {
    return key.trim() !== API_KEY;
}

// --- POST /rest/pusher/auth ----------------------------------------------------------------------------

export interface AuthCase extends HttpCase {
    /** Set when a 200 must carry exactly this signature input. */
    signs?: { socketId: string; channel: string };
}

export const authCase: fc.Arbitrary<AuthCase> = fc
    .record({
        socketId: socketIdField,
        channel: channelField,
        credential: fc.constantFrom<AuthCredential>(
            "bearer",
            "bearer",
            "session",
            "session",
            "wrongBearer",
            "none",
            "basicWithSession",
            "sessionNoCsrf",
            "badSession",
            "sessionWrongBearer"
        ),
        wrongKey: wrongKeys,
        encoding: encodingArb(true),
        malformed: malformedJson,
        depth: fc.integer({ min: 1, max: 12_000 }),
        requestId: fc.string({ unit: "grapheme-ascii", maxLength: 80 })
    })
    .map(input => {
        const fields = objectOf({ socket_id: input.socketId, channel_name: input.channel });
        const encoded = encode(input.encoding, fields, AUTH_LIMIT, {
            malformed: input.malformed,
            depth: input.depth,
            formAllowed: true
        });
        const headers = {
            ...encoded.headers,
            ...credentialHeaders(input.credential, input.wrongKey),
            "X-Request-Id": input.requestId
        };
        const label = `auth ${input.encoding} ${input.credential} socket_id=${JSON.stringify(typeof input.socketId === "symbol" ? "(missing)" : input.socketId)} channel_name=${JSON.stringify(typeof input.channel === "symbol" ? "(missing)" : input.channel)}`;
        if (encoded.expect) {
            return { label, headers, body: encoded.body, expect: encoded.expect };
        }
        // Form bodies carry strings only: what the server reads is the stringified value.
        const asSent = (value: Field): unknown =>
            input.encoding === "form" && present(value) ? new URLSearchParams({ v: formValue(value) }).get("v") : value;
        const socketId = asSent(input.socketId);
        const channel = asSent(input.channel);
        const socketOk = typeof socketId === "string" && SOCKET_ID_RE.test(socketId);
        // Signed: private-<topic> (user- and broadcast- topics naming a user or broadcast) and presence-<object topic>.
        const channelOk =
            typeof channel === "string" &&
            ((channel.startsWith("private-") && isNotifiableTopic(channel.slice(8))) ||
                (channel.startsWith("presence-") &&
                    isValidTopic(channel.slice(9)) &&
                    !/^(?:user|broadcast)-/.test(channel.slice(9))));
        if (!socketOk || !channelOk) {
            return { label, headers, body: encoded.body, expect: { status: 400, codes: ["invalid_request"] } };
        }
        const signs = { socketId: socketId, channel: channel };
        const topic = channel.slice(channel.indexOf("-") + 1);
        const forbidden = topic.startsWith(FORBIDDEN_PREFIX);
        // A user channel is signed only for its own user (the fake Mendix app answers "alice"); a relaying caller
        // must name the user (these requests never do) for user and presence channels.
        const userChannel = channel.startsWith("private-user-");
        const needsUser = userChannel || channel.startsWith("presence-");
        const relayed: Expectation = needsUser ? { status: 400, codes: ["invalid_request"] } : { status: 200 };
        const browser: Expectation =
            forbidden || (userChannel && channel !== "private-user-alice")
                ? { status: 403, codes: ["forbidden"] }
                : { status: 200 };
        let expect: Expectation;
        switch (input.credential) {
            case "bearer":
                expect = relayed;
                break;
            case "wrongBearer":
            case "sessionWrongBearer":
                expect = isWrong(input.wrongKey) ? { status: 401, codes: ["invalid_api_key"] } : relayed;
                break;
            case "session":
            case "basicWithSession":
                expect = browser;
                break;
            case "none":
            case "sessionNoCsrf":
            case "badSession":
                expect = { status: 401, codes: ["not_authenticated"] };
                break;
        }
        return { label, headers, body: encoded.body, expect, signs };
    });

// --- notifications -------------------------------------------------------------------------------------

const validAction = fc.oneof(
    {
        weight: 4,
        arbitrary: fc.constantFrom("refresh", "updated", "Order_Changed", "a", "x=1;y@z,w.v-u", "Refresh order", "über")
    },
    { weight: 1, arbitrary: fc.constantFrom("pusherX", "a:b", "   ", "refresh\n", "pusher", "client_x") },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 200 }).filter(isValidAction) }
);
const badAction = fc.oneof(
    fc.constantFrom(
        "",
        "pusher:subscribe",
        "pusher_internal:member_added",
        "client-typing",
        "x".repeat(201),
        "🙂".repeat(101)
    ),
    fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).map(s => `client-${s}`)
);
const validDate = fc
    .record({
        date: fc.date({
            min: new Date("1970-01-01T00:00:00Z"),
            max: new Date("2999-12-31T00:00:00Z"),
            noInvalidDate: true
        }),
        offset: fc.constantFrom("Z", "+00:00", "+02:00", "-05:30", "+14:00")
    })
    .map(({ date, offset }) => date.toISOString().replace("Z", offset));
const badDate = fc.constantFrom(
    "yesterday",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-11-24T10:00:60Z",
    "2026-11-24",
    "2026-11-24T10:00Z",
    "2026-11-24 10:00:00Z",
    "+275760-09-13T00:00:00.000Z",
    "",
    "0"
);
const longUnicode = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.constantFrom("🙂".repeat(4000), "é".repeat(8000), "x".repeat(8000), "\u0000".repeat(100), "\ud800".repeat(50))
);

type NotificationFields = Record<string, Field>;

const notificationFields: fc.Arbitrary<NotificationFields> = fc.record({
    topic: fc.oneof(
        { weight: 6, arbitrary: validTopic },
        { weight: 5, arbitrary: fc.constant(MISSING) },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: badTopic },
        { weight: 1, arbitrary: wrongType }
    ),
    user: fc.oneof(
        { weight: 14, arbitrary: fc.constant(MISSING) },
        {
            weight: 2,
            arbitrary: fc.constantFrom("john", "Mary Jones", "józef", "a=b", "ann+x@example.com", "李", "o'neil")
        },
        { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 60 }) },
        { weight: 1, arbitrary: fc.constantFrom("", "x".repeat(151), "x".repeat(152), "ó".repeat(25), "\ud800") },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: wrongType }
    ),
    broadcast: fc.oneof(
        { weight: 14, arbitrary: fc.constant(MISSING) },
        { weight: 2, arbitrary: fc.constantFrom("all", "maintenance", "a;b,c=d@e") },
        { weight: 1, arbitrary: fc.constantFrom("", "a b", "x".repeat(146), "x".repeat(147)) },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: wrongType }
    ),
    entity: fc.oneof(
        { weight: 5, arbitrary: fc.constant(MISSING) },
        { weight: 4, arbitrary: fc.constantFrom("Fuzz.Item", "Sales.Order", "_M._E", "A.B") },
        { weight: 1, arbitrary: fc.constant(`Fuzz.${"L".repeat(140)}`) },
        {
            weight: 1,
            arbitrary: fc.constantFrom("Sales", "Sales.Order.Line", "1Sales.Order", "Sales.Ord er", "", "über.x")
        },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: wrongType }
    ),
    guid: fc.oneof(
        { weight: 5, arbitrary: fc.constant(MISSING) },
        { weight: 4, arbitrary: fc.constantFrom("1", "2", "3", "281474976710657", "12345678901234567890") },
        { weight: 1, arbitrary: fc.constantFrom("", "-1", "1.5", "123456789012345678901", "0x10", "1 ") },
        { weight: 1, arbitrary: fc.integer() },
        { weight: 1, arbitrary: fc.constant(null) }
    ),
    action: fc.oneof(
        { weight: 8, arbitrary: validAction },
        { weight: 2, arbitrary: badAction },
        { weight: 1, arbitrary: wrongType },
        { weight: 1, arbitrary: fc.constant(MISSING) }
    ),
    sender: fc.oneof(
        { weight: 4, arbitrary: fc.constant(MISSING) },
        { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 60 }) },
        { weight: 1, arbitrary: fc.constantFrom("x".repeat(200), "x".repeat(201), "") },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: wrongType }
    ),
    changedDate: fc.oneof(
        { weight: 4, arbitrary: fc.constant(MISSING) },
        { weight: 3, arbitrary: validDate },
        { weight: 1, arbitrary: badDate },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.integer() }
    ),
    data: fc.oneof(
        { weight: 4, arbitrary: fc.constant(MISSING) },
        { weight: 3, arbitrary: longUnicode },
        { weight: 1, arbitrary: fc.constant("y".repeat(8001)) },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: wrongType }
    ),
    socketId: fc.oneof(
        { weight: 6, arbitrary: fc.constant(MISSING) },
        { weight: 1, arbitrary: validSocketId },
        { weight: 1, arbitrary: injectedSocketIds },
        { weight: 1, arbitrary: fc.constant(null) }
    ),
    unknown: fc.oneof(
        { weight: 12, arbitrary: fc.constant(MISSING) },
        { weight: 1, arbitrary: fc.constantFrom("channel", "channels", "__proto__", "constructor", "event", "extra") }
    )
});

function toObject(fields: NotificationFields): Record<string, unknown> {
    const { unknown, ...rest } = fields;
    const object = objectOf(rest);
    if (typeof unknown === "string") {
        // JSON.parse creates an own property even for "__proto__".
        Object.defineProperty(object, unknown, { value: "x", enumerable: true, configurable: true, writable: true });
    }
    return object;
}

export interface NotificationVerdict {
    valid: boolean;
    /** `private-<topic>` of a valid notification. */
    channel?: string;
    /** UTF-8 bytes of the payload JSON of a valid notification. */
    payloadBytes?: number;
    socketId?: string;
}

const absent = (value: Field) => value === MISSING || value === null;

const characters = (text: string) => [...text].length;

/** Independent oracle of one notification (the documented rules and the server spec). */
export function judgeNotification(generated: NotificationFields): NotificationVerdict {
    // Judge what the server receives: JSON carries NaN and ±Infinity as null.
    const fields = Object.fromEntries(
        Object.entries(generated).map(([name, value]) => [
            name,
            typeof value === "number" && !Number.isFinite(value) ? null : value
        ])
    );
    const { topic, entity, guid, user, broadcast, action, sender, changedDate, data, socketId, unknown } = fields;
    const invalid = { valid: false };
    if (present(unknown)) return invalid;
    if (!absent(topic) && !(typeof topic === "string" && isNotifiableTopic(topic))) return invalid;
    // A user name: any text with a UTF-8 form whose channel `private-user-<encoded>` has at most 164 characters.
    const encodedUser = typeof user === "string" && user !== "" ? encodeUserNameForOracle(user) : undefined;
    if (!absent(user) && !(encodedUser !== undefined && `private-user-${encodedUser}`.length <= 164)) return invalid;
    if (
        !absent(broadcast) &&
        !(typeof broadcast === "string" && broadcast !== "" && isValidTopic(`broadcast-${broadcast}`))
    ) {
        return invalid;
    }
    if (!absent(entity) && !(typeof entity === "string" && ENTITY_RE.test(entity))) return invalid;
    // A guid as a JSON number only while it is exact (a safe integer); it then counts as its digits.
    const guidText =
        typeof guid === "number" && Number.isSafeInteger(guid) && guid >= 0
            ? String(guid)
            : typeof guid === "string"
              ? guid
              : undefined;
    if (!absent(guid) && !(guidText !== undefined && GUID_RE.test(guidText))) return invalid;
    if (typeof action !== "string" || !isValidAction(action)) return invalid;
    // Lengths are in characters (Unicode code points, as zod counts them): an emoji is one character.
    if (!absent(sender) && !(typeof sender === "string" && characters(sender) <= 200)) return invalid;
    // changedDate: ISO 8601, or epoch milliseconds as digits (Mendix 7 Java) or as a whole JSON number.
    if (
        !absent(changedDate) &&
        !(typeof changedDate === "string" && (isIsoDateTime(changedDate) || /^\d{1,15}$/.test(changedDate))) &&
        !(
            typeof changedDate === "number" &&
            Number.isInteger(changedDate) &&
            changedDate >= 0 &&
            changedDate <= 8.64e15
        )
    )
        return invalid;
    if (!absent(data) && !(typeof data === "string" && characters(data) <= 8000)) return invalid;
    if (!absent(socketId) && !(typeof socketId === "string" && SOCKET_ID_RE.test(socketId))) return invalid;
    // Exactly one target: a topic (entity and guid then only fill the payload), entity and guid, a user, a broadcast.
    const objectTarget = absent(topic) && (!absent(entity) || !absent(guid));
    const targets = [!absent(topic), objectTarget, !absent(user), !absent(broadcast)].filter(Boolean).length;
    if (targets > 1) return invalid;
    let resolvedTopic: string;
    if (typeof topic === "string") {
        resolvedTopic = topic;
    } else if (encodedUser !== undefined) {
        resolvedTopic = `user-${encodedUser}`;
    } else if (typeof broadcast === "string") {
        resolvedTopic = `broadcast-${broadcast}`;
    } else if (typeof entity === "string" && guidText !== undefined) {
        resolvedTopic = `${entity}.${guidText}`;
        // The derived topic must still make a valid channel name.
        if (!isValidTopic(resolvedTopic)) return invalid;
    } else {
        return invalid;
    }
    const derived = OBJECT_TOPIC_RE.exec(resolvedTopic);
    const payload: Record<string, string> = {
        entity: typeof entity === "string" ? entity : (derived?.[1] ?? ""),
        guid: guidText ?? derived?.[2] ?? "",
        changedDate: "2026-11-24T10:00:00.000Z",
        sender: typeof sender === "string" ? sender : "",
        actionName: action
    };
    if (typeof data === "string") payload.data = data;
    return {
        valid: true,
        channel: `private-${resolvedTopic}`,
        payloadBytes: Buffer.byteLength(JSON.stringify(payload), "utf8"),
        socketId: typeof socketId === "string" ? socketId : undefined
    };
}

/** The ISO 8601 date-times the generators produce as valid: `YYYY-MM-DDTHH:MM:SS(.fff)(Z|±HH:MM)`, a real date. */
function isIsoDateTime(value: string): boolean {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(value);
    if (!match) return false;
    const [, y, mo, d, h, mi, s] = match.map(Number);
    const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

type NotifyCredential = "bearer" | "missing" | "wrongBearer" | "basic" | "cookieOnly";

const notifyCredential = fc.oneof(
    { weight: 10, arbitrary: fc.constant<NotifyCredential>("bearer") },
    { weight: 1, arbitrary: fc.constantFrom<NotifyCredential>("missing", "wrongBearer", "basic", "cookieOnly") }
);

function notifyCredentialHeaders(credential: NotifyCredential, wrongKey: string): Record<string, string> {
    switch (credential) {
        case "bearer":
            return { Authorization: `Bearer ${API_KEY}` };
        case "missing":
            return {};
        case "wrongBearer":
            return { Authorization: `Bearer ${wrongKey}`.replace(/[\r\n]/g, "") };
        case "basic":
            return { Authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString("base64")}` };
        case "cookieOnly":
            return { Cookie: GOOD_COOKIE, "X-Csrf-Token": GOOD_CSRF };
    }
}

function credentialExpectation(credential: NotifyCredential, wrongKey: string): Expectation | undefined {
    switch (credential) {
        case "bearer":
            return undefined;
        case "missing":
        case "cookieOnly":
            return { status: 401, codes: ["missing_api_key"] };
        case "wrongBearer":
            return isWrong(wrongKey) ? { status: 401, codes: ["invalid_api_key"] } : undefined;
        case "basic":
            return { status: 401, codes: ["invalid_api_key"] };
    }
}

export interface NotifyCase extends HttpCase {
    /** Deliveries a 200 must have caused: one entry per notification, in order. */
    deliveries?: Array<{ channel: string; socketId?: string }>;
}

export const notifyCase: fc.Arbitrary<NotifyCase> = fc
    .record({
        fields: notificationFields,
        credential: notifyCredential,
        wrongKey: wrongKeys,
        encoding: encodingArb(false),
        malformed: malformedJson,
        depth: fc.integer({ min: 1, max: 12_000 })
    })
    .map(input => {
        const object = toObject(input.fields);
        const encoded = encode(input.encoding, object, NOTIFY_LIMIT, {
            malformed: input.malformed,
            depth: input.depth,
            formAllowed: false
        });
        const headers = { ...encoded.headers, ...notifyCredentialHeaders(input.credential, input.wrongKey) };
        const label = `notify ${input.encoding} ${input.credential} ${excerpt(safeJson(object))}`;
        const credential = credentialExpectation(input.credential, input.wrongKey);
        if (credential) return { label, headers, body: encoded.body, expect: credential };
        if (encoded.expect) return { label, headers, body: encoded.body, expect: encoded.expect };
        const verdict = judgeNotification(input.fields);
        if (!verdict.valid) {
            return { label, headers, body: encoded.body, expect: { status: 400, codes: ["invalid_request"] } };
        }
        if (verdict.payloadBytes! > MAX_PAYLOAD) {
            return { label, headers, body: encoded.body, expect: { status: 413, codes: ["payload_too_large"] } };
        }
        return {
            label,
            headers,
            body: encoded.body,
            expect: { status: 200 },
            deliveries: [{ channel: verdict.channel!, socketId: verdict.socketId }]
        };
    });

// --- POST /rest/pusher/notify/batch --------------------------------------------------------------------

type BatchShape = "list" | "empty" | "tooMany" | "notArray" | "extraKey" | "nullList";

export const batchCase: fc.Arbitrary<NotifyCase> = fc
    .record({
        items: fc.array(notificationFields, { minLength: 1, maxLength: 12 }),
        shape: fc.oneof(
            { weight: 12, arbitrary: fc.constant<BatchShape>("list") },
            {
                weight: 1,
                arbitrary: fc.constantFrom<BatchShape>("empty", "tooMany", "notArray", "extraKey", "nullList")
            }
        ),
        credential: notifyCredential,
        wrongKey: wrongKeys,
        encoding: encodingArb(false),
        malformed: malformedJson,
        depth: fc.integer({ min: 1, max: 12_000 }),
        validOnly: fc.boolean()
    })
    .map(input => {
        // Half of the batches drop invalid items so that valid batches (and deliveries) are common.
        const items = input.validOnly ? input.items.filter(fields => judgeNotification(fields).valid) : input.items;
        let list: unknown[] = items.map(toObject);
        let object: Record<string, unknown>;
        switch (input.shape) {
            case "list":
                object = { notifications: list };
                break;
            case "empty":
                list = [];
                object = { notifications: [] };
                break;
            case "tooMany":
                list = Array.from({ length: 101 }, () => ({ topic: "Fuzz.Item.1", action: "refresh" }));
                object = { notifications: list };
                break;
            case "notArray":
                object = { notifications: { 0: { topic: "Fuzz.Item.1", action: "refresh" } } };
                break;
            case "extraKey":
                object = { notifications: list, extra: true };
                break;
            case "nullList":
                object = { notifications: null };
                break;
        }
        const encoded = encode(input.encoding, object, BATCH_LIMIT, {
            malformed: input.malformed,
            depth: input.depth,
            formAllowed: false
        });
        const headers = { ...encoded.headers, ...notifyCredentialHeaders(input.credential, input.wrongKey) };
        const label = `batch ${input.encoding} ${input.credential} ${input.shape} ${excerpt(safeJson(object))}`;
        const credential = credentialExpectation(input.credential, input.wrongKey);
        if (credential) return { label, headers, body: encoded.body, expect: credential };
        if (encoded.expect) return { label, headers, body: encoded.body, expect: encoded.expect };
        const bad = { status: 400, codes: ["invalid_request"] };
        if (input.shape !== "list" || items.length === 0) {
            return { label, headers, body: encoded.body, expect: bad };
        }
        const verdicts = items.map(judgeNotification);
        if (verdicts.some(verdict => !verdict.valid)) {
            return { label, headers, body: encoded.body, expect: bad };
        }
        if (verdicts.some(verdict => verdict.payloadBytes! > MAX_PAYLOAD)) {
            return { label, headers, body: encoded.body, expect: { status: 413, codes: ["payload_too_large"] } };
        }
        return {
            label,
            headers,
            body: encoded.body,
            expect: { status: 200 },
            deliveries: verdicts.map(verdict => ({ channel: verdict.channel!, socketId: verdict.socketId }))
        };
    });

/** A long JSON text as its start and its end, so a failure shows every field of a notification with a long `data`. */
function excerpt(text: string): string {
    return text.length <= 600 ? text : `${text.slice(0, 300)}…${text.slice(-300)}`;
}

function safeJson(value: unknown): string {
    try {
        return JSON.stringify(value) ?? String(value);
    } catch {
        return String(value);
    }
}
