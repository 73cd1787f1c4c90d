/**
 * A small fake of the Mendix runtime, faithful to the access-check contract in docs/access-check.md:
 * users, sessions in an HttpOnly cookie, one CSRF token per session, objects with per-user read
 * access, and the published REST operation `POST /rest/notifylisten/v1/access`: `kind` `object` (a
 * `private-<topic>` or `presence-<topic>` channel) resolves the topic and checks read access; `user` and
 * `broadcast` answer the signed-in user without a decision (the companion server compares user channels).
 * Allowed answers carry the user's `displayName`.
 *
 * Sessions are signed cookies, not server memory: a real Mendix app keeps its sessions while the companion server
 * restarts, and so does this fake when the next runtime has the same `sessionSecret` (the playground keeps it in
 * `.playground/`, see secret.ts). The cookie holds a random session id, the user name and an HMAC of both; the CSRF
 * token is an HMAC of the id. Demo only: there is no expiry, and sign-out is remembered only by this runtime.
 *
 * Usable on its own (mount `router` on any express app) or through the playground.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import express, { type Request, type Response } from "express";
import { z } from "zod";
import { ENTITY_NAME_PATTERN, GUID_PATTERN, channelForTopic, presenceChannelForTopic } from "../protocol/index.js";
import { DEMO_OBJECTS, DEMO_USERS, type DemoObject, type DemoUser } from "./data.js";

/** Path of the access check operation, relative to the Mendix app's base URL. */
export const ACCESS_CHECK_PATH = "/rest/notifylisten/v1/access";
/** The Mendix runtime's session cookie. */
export const SESSION_COOKIE = "XASSESSIONID";
/** Header carrying the CSRF token, as the Mendix client sends it. */
export const CSRF_HEADER = "x-csrf-token";

export interface FakeSession {
    token: string;
    csrfToken: string;
    user: DemoUser;
    createdAt: Date;
}

/** One answered access check, kept for tests and for the playground's diagnostics. */
export interface AccessCheckRecord {
    at: Date;
    status: 200 | 400 | 401 | 403;
    user: string | null;
    channel?: string;
    topic?: string;
    kind?: AccessKind;
    /** GUID of the resolved object, when the topic named one that exists. */
    guid?: string;
}

export interface FakeMendixOptions {
    users?: readonly DemoUser[];
    objects?: readonly DemoObject[];
    /** Answer every access check after this many milliseconds (to test timeouts). */
    accessDelayMs?: number;
    /** Keep at most this many access check records (default 200). */
    accessLogLimit?: number;
    /**
     * Key that signs the session cookies and derives the CSRF tokens. A runtime with the same key accepts the
     * sessions of another (a restarted server); default: random, so the sessions live as long as this runtime.
     */
    sessionSecret?: string | Buffer;
}

export interface FakeMendix {
    /** Serves `POST /rest/notifylisten/v1/access`. */
    router: express.Router;
    users: readonly DemoUser[];
    objects: readonly DemoObject[];
    /** Most recent access checks, oldest first. */
    accessLog: AccessCheckRecord[];
    findUser(name: string): DemoUser | undefined;
    findObject(guid: string): DemoObject | undefined;
    /** The object a topic names: `Module.Entity.guid`, or a custom key topic. */
    resolveTopic(topic: string): DemoObject | undefined;
    canRead(user: DemoUser, object: DemoObject): boolean;
    /** Signs a user in; throws for unknown users. */
    createSession(userName: string): FakeSession;
    destroySession(token: string): void;
    /** The session of a request's cookie, if it is still valid. */
    sessionFromRequest(req: Request): FakeSession | undefined;
    /** `Cookie` header value for a session (for server-side callers and tests). */
    cookieHeader(session: FakeSession): string;
    setSessionCookie(res: Response, session: FakeSession): void;
    clearSessionCookie(res: Response): void;
}

/** The access check's `kind`; absent (a server before presence, users and broadcasts) means `object`. */
export type AccessKind = "object" | "user" | "broadcast";

const accessRequestSchema = z.object({
    channel: z.string().min(1).max(200),
    topic: z.string().min(1).max(200),
    kind: z.enum(["object", "user", "broadcast"]).default("object")
});

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
    if (!header) {
        return undefined;
    }
    for (const part of header.split(";")) {
        const index = part.indexOf("=");
        if (index > 0 && part.slice(0, index).trim() === name) {
            return decodeURIComponent(part.slice(index + 1).trim());
        }
    }
    return undefined;
}

function sameSecret(a: string, b: string): boolean {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
}

function errorBody(code: string, message: string, details?: unknown): object {
    return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Reads the JSON body whether or not an upstream body parser already ran. */
function readJsonBody(req: Request): { ok: true; value: unknown } | { ok: false } {
    const body: unknown = req.body;
    if (typeof body === "string") {
        try {
            return { ok: true, value: JSON.parse(body) };
        } catch {
            return { ok: false };
        }
    }
    if (Buffer.isBuffer(body)) {
        try {
            return { ok: true, value: JSON.parse(body.toString("utf8")) };
        } catch {
            return { ok: false };
        }
    }
    return body === undefined ? { ok: false } : { ok: true, value: body };
}

/** HMAC-SHA256 of `text` with `secret`, base64url. */
function sign(secret: string | Buffer, text: string): string {
    return createHmac("sha256", secret).update(text, "utf8").digest("base64url");
}

export function createFakeMendix(options: FakeMendixOptions = {}): FakeMendix {
    const users = options.users ?? DEMO_USERS;
    const objects = options.objects ?? DEMO_OBJECTS;
    const accessLogLimit = options.accessLogLimit ?? 200;
    const secret = options.sessionSecret ?? randomBytes(32);
    /** Session ids signed out through this runtime. */
    const signedOut = new Set<string>();
    const accessLog: AccessCheckRecord[] = [];

    const findUser = (name: string): DemoUser | undefined => users.find(user => user.name === name);
    const findObject = (guid: string): DemoObject | undefined => objects.find(object => object.guid === guid);

    const resolveTopic = (topic: string): DemoObject | undefined => {
        const custom = objects.find(object => object.keyTopic === topic);
        if (custom) {
            return custom;
        }
        const dot = topic.lastIndexOf(".");
        const entity = topic.slice(0, dot);
        const guid = topic.slice(dot + 1);
        if (dot <= 0 || !ENTITY_NAME_PATTERN.test(entity) || !GUID_PATTERN.test(guid)) {
            return undefined;
        }
        const object = findObject(guid);
        return object && object.entity === entity ? object : undefined;
    };

    const canRead = (user: DemoUser, object: DemoObject): boolean =>
        user.access === "all" || user.access.includes(object.guid);

    /** The session a cookie value stands for: `<id>.<created, epoch ms>.<user, base64url>.<HMAC of the rest>`. */
    const sessionOf = (token: string): FakeSession | undefined => {
        const parts = token.split(".");
        if (parts.length !== 4) {
            return undefined;
        }
        const [id, created, encodedUser, mac] = parts;
        if (!sameSecret(mac, sign(secret, `session.${id}.${created}.${encodedUser}`)) || signedOut.has(id)) {
            return undefined;
        }
        const user = findUser(Buffer.from(encodedUser, "base64url").toString("utf8"));
        if (!user) {
            return undefined;
        }
        return { token, csrfToken: sign(secret, `csrf.${id}`), user, createdAt: new Date(Number(created)) };
    };

    const createSession = (userName: string): FakeSession => {
        const user = findUser(userName);
        if (!user) {
            throw new Error(`Unknown demo user "${userName}".`);
        }
        const id = randomBytes(18).toString("base64url");
        const signed = `${id}.${Date.now()}.${Buffer.from(user.name, "utf8").toString("base64url")}`;
        return sessionOf(`${signed}.${sign(secret, `session.${signed}`)}`)!;
    };

    const sessionFromRequest = (req: Request): FakeSession | undefined => {
        const token = readCookie(req.headers.cookie, SESSION_COOKIE);
        return token === undefined ? undefined : sessionOf(token);
    };

    const record = (entry: Omit<AccessCheckRecord, "at">): void => {
        accessLog.push({ at: new Date(), ...entry });
        if (accessLog.length > accessLogLimit) {
            accessLog.splice(0, accessLog.length - accessLogLimit);
        }
    };

    const router = express.Router();
    router.post(ACCESS_CHECK_PATH, express.text({ type: () => true, limit: "16kb" }), async (req, res) => {
        if (options.accessDelayMs) {
            await new Promise(resolve => setTimeout(resolve, options.accessDelayMs));
        }
        res.set("Cache-Control", "no-store");
        // Published REST operation with "authentication: active session": session first, then CSRF.
        const session = sessionFromRequest(req);
        const csrf = req.get(CSRF_HEADER);
        if (!session || csrf === undefined || !sameSecret(csrf, session.csrfToken)) {
            record({ status: 401, user: null });
            res.status(401).json(
                errorBody(
                    "not_authenticated",
                    session ? "The CSRF token does not match the session." : "There is no active session."
                )
            );
            return;
        }
        const body = readJsonBody(req);
        const parsed = body.ok ? accessRequestSchema.safeParse(body.value) : undefined;
        if (!parsed?.success) {
            record({ status: 400, user: session.user.name });
            res.status(400).json(
                errorBody(
                    "invalid_request",
                    "Expected a JSON body { channel, topic }.",
                    parsed?.error.issues.map(issue => ({ path: issue.path.join("."), message: issue.message }))
                )
            );
            return;
        }
        const { channel, topic, kind } = parsed.data;
        const user = session.user.name;
        // The modelled PRS_Access (docs/access-check.md): the channel must be the topic's, then branch on kind.
        const channels =
            kind === "object" ? [channelForTopic(topic), presenceChannelForTopic(topic)] : [channelForTopic(topic)];
        if (!channels.includes(channel)) {
            record({ status: 400, user, channel, topic, kind });
            res.status(400).json(errorBody("invalid_request", `The channel must be "${channels.join('" or "')}".`));
            return;
        }
        const allowed = { user, displayName: session.user.displayName };
        if (kind !== "object") {
            // user and broadcast: no decision, the answer is the signed-in user.
            record({ status: 200, user, channel, topic, kind });
            res.status(200).json(allowed);
            return;
        }
        const object = resolveTopic(topic);
        if (!object || !canRead(session.user, object)) {
            // Never 404: a missing object and a forbidden one look the same to the caller.
            record({ status: 403, user, channel, topic, kind, guid: object?.guid });
            res.status(403).json(errorBody("forbidden", "You may not read this object."));
            return;
        }
        record({ status: 200, user, channel, topic, kind, guid: object.guid });
        res.status(200).json(allowed);
    });

    return {
        router,
        users,
        objects,
        accessLog,
        findUser,
        findObject,
        resolveTopic,
        canRead,
        createSession,
        destroySession: token => {
            signedOut.add(token.split(".")[0]);
        },
        sessionFromRequest,
        cookieHeader: session => `${SESSION_COOKIE}=${encodeURIComponent(session.token)}`,
        setSessionCookie: (res, session) => {
            res.cookie(SESSION_COOKIE, session.token, { httpOnly: true, sameSite: "lax", path: "/" });
        },
        clearSessionCookie: res => {
            res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: "lax", path: "/" });
        }
    };
}
