/**
 * `POST /rest/pusher/auth`: channel authorization for pusher-js, for the four kinds of channels of
 * ../../protocol/channel-kind.ts (object `private-<topic>`, presence `presence-<topic>`, user `private-user-<encoded>`,
 * broadcast `private-broadcast-<name>`).
 * Caller 1, the browser: its `Cookie` and `X-Csrf-Token` go to the Mendix access check (with the channel's `kind`);
 * signs only on 200. A user channel is signed only when the answered user is the channel's user; a presence member's
 * identity is the answered user and display name (a `channel_data` the browser sends is ignored).
 * Caller 2, the Mendix app relaying server-to-server: `Authorization: Bearer <NOTIFY_API_KEY>`, no check; for user
 * and presence channels it sends the signed-in user as `user` (and `displayName`).
 * Both answers carry `catchup` (../catchup.ts): with the request's optional `catchup` cursor, what the widget missed.
 */
import { Router, type Request } from "express";
import { z } from "zod";
import {
    CURSOR_PATTERN,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_PRESENCE_USER_ID_LENGTH,
    describeChannel,
    parseCursor,
    presenceMember,
    validateSignableChannel,
    type CatchupAnswer,
    type ChannelDescription
} from "../../protocol/index.js";
import { INVALID_API_KEY_HEADERS } from "../apikey.js";
import type { ServerContext } from "../context.js";
import { HttpError, invalidRequest } from "../errors.js";
import { sendJsonText } from "../answer.js";
import { readBody } from "../body.js";
import { limiter } from "../middleware.js";
import { socketIdOf } from "../schemas.js";
import { logDebug } from "../request.js";
import { createSessionKeyer } from "../session-key.js";

/** Auth requests are tiny; 16 KB is plenty. */
export const AUTH_BODY_LIMIT = 16 * 1024;

/** A channel this server signs (protocol's `describeChannel`), with the protocol's message when it is not. */
export const signableChannelSchema = z.string({ error: "must be a string" }).superRefine((channel, issues) => {
    const problem = validateSignableChannel(channel);
    if (problem !== null) {
        issues.addIssue({ code: "custom", message: problem });
    }
});

/** The widget's cursor on the channel when it subscribes again: `<epoch>:<seq>` (protocol/catchup.ts). */
export const catchupCursorSchema = z
    .string({ error: "catchup must be a string" })
    .regex(CURSOR_PATTERN, { error: 'must look like "<epoch>:<seq>" (the epoch and seq of the last notification)' })
    .meta({
        description:
            "Sent by the Listen widget when it subscribes again after an interruption: the `epoch` and highest `seq` it knows on the channel. The answer's `catchup.missed` then lists what it missed.",
        example: "q3VbXw2mT0aK:1764583200000123"
    });

/** Empty or null counts as absent: a Mendix relay (topology B) can always send the field. */
const relayText = <T extends z.ZodType>(schema: T) => z.union([schema, z.literal(""), z.null()]).optional();

export const authRequestSchema = z.object({
    socket_id: socketIdOf("socket_id"),
    channel_name: signableChannelSchema,
    catchup: relayText(catchupCursorSchema),
    user: relayText(
        z.string({ error: "user must be a string" }).max(1000, { error: "must be at most 1000 characters" }).meta({
            description:
                "Only from the Mendix app relaying with the API key (ignored from browsers): the signed-in user's name, `$currentUser/Name`. Needed for user and presence channels.",
            example: "john"
        })
    ),
    displayName: relayText(
        z
            .string({ error: "displayName must be a string" })
            .max(MAX_DISPLAY_NAME_LENGTH, { error: `must be at most ${MAX_DISPLAY_NAME_LENGTH} characters` })
            .meta({
                description:
                    "Only from the Mendix app relaying with the API key (ignored from browsers): the name other viewers see on a presence channel (default: `user`).",
                example: "John Smith"
            })
    )
});

export interface AuthResponse {
    auth: string;
    /** Presence channels: the signed member, `{ "user_id", "user_info": { "name" } }` as JSON text. */
    channel_data?: string;
    catchup: CatchupAnswer;
}

/** Who subscribes: the access check's answer, or what the relaying Mendix app says. */
interface Identity {
    user: string;
    displayName?: string;
}

/** The access check's kind for a channel: presence channels are checked like their object's private channel. */
const accessKind = (description: ChannelDescription) => (description.kind === "presence" ? "object" : description.kind);

export function createAuthRouter(ctx: ServerContext): Router {
    const router = Router();
    const { config } = ctx;
    // The Mendix app relays every user's request from one address: with the right key it does not count.
    const relayed = (req: Request) => ctx.apiKey.classify(req) === "valid";
    const sessions = createSessionKeyer(config.sessionCookie);
    router.post(
        "/rest/pusher/auth",
        // First per Mendix session (per address without one), so that one flooding session is refused here and
        // does not use up the budget of the other browsers behind its address.
        limiter({
            perMinute: config.rateLimitAuth,
            what: "channel authorization",
            name: "auth per session",
            skip: relayed,
            keyOf: req => {
                const rateKey = sessions.of(req);
                return { key: rateKey.key, per: rateKey.kind };
            }
        }),
        // Then the generous backstop per address, whatever the session (a flooder inventing session values).
        limiter({
            perMinute: config.rateLimitAuthAddress,
            what: "channel authorization",
            name: "auth per address",
            skip: relayed
        }),
        readBody("json-or-form", Math.min(AUTH_BODY_LIMIT, config.bodyLimitBytes)),
        async (req, res) => {
            const parsed = authRequestSchema.safeParse(req.body);
            if (!parsed.success) {
                throw invalidRequest(parsed.error, "Invalid channel authorization request.");
            }
            const { socket_id: socketId, channel_name: channel, catchup: cursor } = parsed.data;
            const described = describeChannel(channel)!;
            const caller = ctx.apiKey.classify(req);
            if (caller === "invalid") {
                throw new HttpError(
                    "invalid_api_key",
                    "The API key is wrong; the Mendix app must send 'Authorization: Bearer <NOTIFY_API_KEY>'.",
                    undefined,
                    INVALID_API_KEY_HEADERS
                );
            }
            let identity: Identity | undefined;
            if (caller === "none") {
                identity = await checkAccess(ctx, req, channel, described);
            } else {
                logDebug(ctx.logger, req, { channel }, "relayed authorization");
                if (parsed.data.user) {
                    identity = { user: parsed.data.user, displayName: parsed.data.displayName || undefined };
                }
            }
            const signed = signFor(ctx, socketId, channel, described, identity);
            // Spliced JSON (AuthResponse): the kept payloads go out as they were sent, without parsing them again.
            const catchup = ctx.catchup.authorize(channel, cursor ? parseCursor(cursor)! : undefined);
            const channelData =
                signed.channel_data === undefined ? "" : `,"channel_data":${JSON.stringify(signed.channel_data)}`;
            sendJsonText(res, 200, `{"auth":${JSON.stringify(signed.auth)}${channelData},"catchup":${catchup}}`);
        }
    );
    return router;
}

/**
 * The signature of a subscription: a user channel only for its own user (`identity`), a presence channel over the
 * member built from `identity` (`presenceMember`), others as they are. Throws the HttpError of a refusal.
 */
function signFor(
    ctx: ServerContext,
    socketId: string,
    channel: string,
    described: ChannelDescription,
    identity: Identity | undefined
): { auth: string; channel_data?: string } {
    if (described.kind !== "user" && described.kind !== "presence") {
        return ctx.pusher().authorizeChannel(socketId, channel);
    }
    if (identity === undefined) {
        throw new HttpError(
            "invalid_request",
            `A relayed authorization of a ${described.kind} channel must send the signed-in user as "user" ($currentUser/Name).`,
            [{ path: "user", message: `is required for ${described.kind} channels` }]
        );
    }
    if (described.kind === "user") {
        if (identity.user !== described.user) {
            throw new HttpError("forbidden", "You may not listen to another user's notifications.", { channel });
        }
        return ctx.pusher().authorizeChannel(socketId, channel);
    }
    if (identity.user.length > MAX_PRESENCE_USER_ID_LENGTH) {
        throw new HttpError(
            "forbidden",
            `Your user name is ${identity.user.length} characters long; presence channels allow at most ${MAX_PRESENCE_USER_ID_LENGTH}.`,
            { channel }
        );
    }
    return ctx.pusher().authorizeChannel(socketId, channel, presenceMember(identity.user, identity.displayName));
}

/** The Mendix access check for a browser's subscription: the allowed user, or the HttpError of the refusal. */
async function checkAccess(
    ctx: ServerContext,
    req: Request,
    channel: string,
    described: ChannelDescription
): Promise<Identity> {
    const baseUrl = ctx.accessCheckBaseUrl();
    if (baseUrl === undefined) {
        throw new HttpError(
            "access_check_unavailable",
            "No Mendix app is configured for access checks (set MENDIX_APP_URL)."
        );
    }
    const result = await ctx.access.check({
        baseUrl,
        timeoutMs: ctx.config.mendixTimeoutMs,
        channel,
        topic: described.topic,
        kind: accessKind(described),
        cookie: req.get("cookie"),
        csrfToken: req.get("x-csrf-token"),
        requestId: req.id
    });
    switch (result.outcome) {
        case "not_authenticated":
            throw new HttpError("not_authenticated", "No Mendix session: sign in to the app first.");
        case "forbidden":
            throw new HttpError(
                "forbidden",
                described.kind === "object" || described.kind === "presence"
                    ? "You may not listen to this object."
                    : "The Mendix app refused this subscription.",
                { channel }
            );
        case "unavailable":
            req.log.warn(
                { channel, reason: result.reason, status: result.status, cause: result.cause },
                "access check unavailable"
            );
            throw new HttpError(
                "access_check_unavailable",
                "The Mendix access check is unavailable; try again later.",
                { reason: result.reason },
                result.retryAfterSeconds === undefined ? undefined : { "Retry-After": String(result.retryAfterSeconds) }
            );
        case "allowed":
            logDebug(ctx.logger, req, { channel, user: result.user }, "access granted");
            return { user: result.user, displayName: result.displayName };
    }
}
