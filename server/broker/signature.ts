/**
 * Every HMAC of the embedded broker lives here: channel authorization signatures (what `/rest/pusher/auth`
 * returns and what `pusher:subscribe` carries) and Pusher HTTP API request signatures (what the `pusher`
 * SDK puts in the query string of `POST /apps/<id>/events`). Compares are timing-safe.
 */
import { createHash, createHmac, timingSafeEqual } from "crypto";

/** Pusher rejects API requests whose `auth_timestamp` is further than this from the server clock. */
export const API_TIMESTAMP_TOLERANCE_SEC = 600;

/** Hex HMAC-SHA256 of `data` with `secret`. */
export function hmacSha256Hex(secret: string, data: string): string {
    return createHmac("sha256", secret).update(data, "utf8").digest("hex");
}

/** Hex MD5 of a request body, as the SDK computes `body_md5`. */
export function md5Hex(body: string | Buffer): string {
    return createHash("md5").update(body).digest("hex");
}

/** Constant-time string equality (length differences return false without comparing content). */
export function safeEqual(a: string, b: string): boolean {
    const left = Buffer.from(a, "utf8");
    const right = Buffer.from(b, "utf8");
    if (left.length !== right.length) {
        return false;
    }
    return timingSafeEqual(left, right);
}

/**
 * Hex signature of a private/presence channel subscription: HMAC-SHA256(secret, "<socket_id>:<channel>"),
 * with ":<channel_data>" appended for presence channels. The `auth` value sent by clients is `<key>:<hex>`.
 */
export function signChannelAuth(secret: string, socketId: string, channel: string, channelData?: string): string {
    const subject = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
    return hmacSha256Hex(secret, subject);
}

/** The full `auth` value a client sends with `pusher:subscribe`: `<key>:<hex signature>`. */
export function channelAuthToken(
    key: string,
    secret: string,
    socketId: string,
    channel: string,
    channelData?: string
): string {
    return `${key}:${signChannelAuth(secret, socketId, channel, channelData)}`;
}

/** Checks an `auth` value (`<key>:<hex>`) of a subscription; the key must match too. */
export function verifyChannelAuth(
    key: string,
    secret: string,
    socketId: string,
    channel: string,
    auth: string,
    channelData?: string
): boolean {
    const separator = auth.indexOf(":");
    if (separator < 0) {
        return false;
    }
    const authKey = auth.slice(0, separator);
    const signature = auth.slice(separator + 1);
    const expected = signChannelAuth(secret, socketId, channel, channelData);
    // Evaluate both compares so the time taken does not tell which part was wrong.
    const keyOk = safeEqual(authKey, key);
    const signatureOk = safeEqual(signature.toLowerCase(), expected);
    return keyOk && signatureOk;
}

/** Query parameters of an API request as `key=value` pairs sorted by key, joined with `&` (the SDK's order). */
export function canonicalQuery(params: Record<string, string>): string {
    return Object.keys(params)
        .filter(name => name !== "auth_signature")
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .map(name => `${name}=${params[name]}`)
        .join("&");
}

export interface SignApiRequestInput {
    key: string;
    secret: string;
    method: string;
    /** Full request path, e.g. `/apps/123/events`. */
    path: string;
    /** Extra query parameters (not the `auth_*` / `body_md5` ones). */
    params?: Record<string, string>;
    /** Raw request body; adds `body_md5` when present and non-empty. */
    body?: string;
    /** Unix seconds; default now. */
    timestamp?: number;
}

/** Signs an API request exactly like the `pusher` SDK; returns the whole query string including `auth_signature`. */
export function signApiRequest(input: SignApiRequestInput): string {
    const params: Record<string, string> = {
        ...input.params,
        auth_key: input.key,
        auth_timestamp: String(input.timestamp ?? Math.floor(Date.now() / 1000)),
        auth_version: "1.0"
    };
    if (input.body !== undefined && input.body.length > 0) {
        params.body_md5 = md5Hex(input.body);
    }
    const query = canonicalQuery(params);
    const signature = hmacSha256Hex(input.secret, `${input.method.toUpperCase()}\n${input.path}\n${query}`);
    return `${query}&auth_signature=${signature}`;
}

export interface VerifyApiRequestInput {
    key: string;
    secret: string;
    method: string;
    path: string;
    /** Decoded query parameters as received. */
    query: Record<string, string>;
    /** Raw body bytes (empty for GET). */
    body: Buffer | string;
    /** Unix seconds; default now. */
    now?: number;
}

export type ApiVerification = { ok: true } | { ok: false; status: 401; message: string };

/**
 * Verifies a signed API request: `auth_key`, `auth_timestamp` (±600 s), `auth_version` 1.0, `body_md5` of
 * the raw body and the `auth_signature` over "METHOD\n<path>\n<sorted query without auth_signature>".
 */
export function verifyApiRequest(input: VerifyApiRequestInput): ApiVerification {
    const { query } = input;
    const fail = (message: string): ApiVerification => ({ ok: false, status: 401, message });
    if (query.auth_key === undefined) {
        return fail("Missing auth_key");
    }
    if (!safeEqual(query.auth_key, input.key)) {
        return fail("Unknown auth_key");
    }
    if (query.auth_signature === undefined) {
        return fail("Missing auth_signature");
    }
    if (query.auth_version !== undefined && query.auth_version !== "1.0") {
        return fail("Unsupported auth_version; expected 1.0");
    }
    if (query.auth_timestamp === undefined || !/^\d{1,15}$/.test(query.auth_timestamp)) {
        return fail("Missing or malformed auth_timestamp (unix seconds expected)");
    }
    const now = input.now ?? Math.floor(Date.now() / 1000);
    const skew = Math.abs(now - Number(query.auth_timestamp));
    if (skew > API_TIMESTAMP_TOLERANCE_SEC) {
        return fail(
            `Timestamp expired: auth_timestamp is ${skew} s away from server time; at most ${API_TIMESTAMP_TOLERANCE_SEC} s are allowed`
        );
    }
    const hasBody = input.body.length > 0;
    if (hasBody || query.body_md5 !== undefined) {
        const expectedMd5 = md5Hex(input.body);
        if (query.body_md5 === undefined) {
            return fail("Missing body_md5");
        }
        if (!safeEqual(query.body_md5.toLowerCase(), expectedMd5)) {
            return fail("body_md5 mismatch: the md5 of the request body does not match body_md5");
        }
    }
    const expected = hmacSha256Hex(
        input.secret,
        `${input.method.toUpperCase()}\n${input.path}\n${canonicalQuery(query)}`
    );
    if (!safeEqual(query.auth_signature.toLowerCase(), expected)) {
        return fail("Invalid signature: auth_signature does not match the request (check the app secret)");
    }
    return { ok: true };
}
