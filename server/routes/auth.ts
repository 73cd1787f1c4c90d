/**
 * `POST /rest/pusher/auth`: private-channel authorization for pusher-js.
 * Caller 1, the browser: its `Cookie` and `X-Csrf-Token` go to the Mendix access check; signs only on 200.
 * Caller 2, the Mendix app relaying server-to-server: `Authorization: Bearer <NOTIFY_API_KEY>`, no check.
 * Both answers carry `catchup` (../catchup.ts): with the request's optional `catchup` cursor, what the widget missed.
 */
import { Router, type Request } from "express";
import { z } from "zod";
import {
    CURSOR_PATTERN,
    parseCursor,
    validateTopic,
    topicOfChannel,
    PRIVATE_PREFIX,
    validateChannel,
    type CatchupAnswer
} from "../../protocol/index.js";
import { INVALID_API_KEY_HEADERS } from "../apikey.js";
import type { ServerContext } from "../context.js";
import { HttpError, invalidRequest } from "../errors.js";
import { formOrJsonBody, limiter } from "../middleware.js";
import { createSessionKeyer } from "../session-key.js";

/** Auth requests are tiny; 16 KB is plenty. */
export const AUTH_BODY_LIMIT = 16 * 1024;
export const SOCKET_ID_PATTERN = /^\d+\.\d+$/;

export const socketIdSchema = z
    .string({ error: "socket_id must be a string" })
    .regex(SOCKET_ID_PATTERN, { error: 'must look like "1234.5678" (digits, a dot, digits)' });

export const privateChannelSchema = z.string({ error: "must be a string" }).superRefine((channel, issues) => {
    const topic = topicOfChannel(channel);
    const problem =
        topic === null
            ? `must be a private channel: "${PRIVATE_PREFIX}" followed by the topic`
            : (validateChannel(channel) ?? validateTopic(topic));
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

export const authRequestSchema = z.object({
    socket_id: socketIdSchema,
    channel_name: privateChannelSchema,
    // Empty counts as absent: a Mendix relay (topology B) can always send the field.
    catchup: z.union([catchupCursorSchema, z.literal("")]).optional()
});

export interface AuthResponse {
    auth: string;
    catchup: CatchupAnswer;
}

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
            logger: ctx.logger,
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
            logger: ctx.logger,
            skip: relayed
        }),
        ...formOrJsonBody(Math.min(AUTH_BODY_LIMIT, config.bodyLimitBytes)),
        async (req, res) => {
            const parsed = authRequestSchema.safeParse(req.body);
            if (!parsed.success) {
                throw invalidRequest(parsed.error, "Invalid channel authorization request.");
            }
            const { socket_id: socketId, channel_name: channel, catchup: cursor } = parsed.data;
            const topic = topicOfChannel(channel)!;
            const caller = ctx.apiKey.classify(req);
            if (caller === "invalid") {
                throw new HttpError(
                    "invalid_api_key",
                    "The API key is wrong; the Mendix app must send 'Authorization: Bearer <NOTIFY_API_KEY>'.",
                    undefined,
                    INVALID_API_KEY_HEADERS
                );
            }
            if (caller === "none") {
                const baseUrl = ctx.accessCheckBaseUrl();
                if (baseUrl === undefined) {
                    throw new HttpError(
                        "access_check_unavailable",
                        "No Mendix app is configured for access checks (set MENDIX_APP_URL)."
                    );
                }
                const result = await ctx.access.check({
                    baseUrl,
                    timeoutMs: config.mendixTimeoutMs,
                    channel,
                    topic,
                    cookie: req.get("cookie"),
                    csrfToken: req.get("x-csrf-token"),
                    requestId: req.id
                });
                switch (result.outcome) {
                    case "not_authenticated":
                        throw new HttpError("not_authenticated", "No Mendix session: sign in to the app first.");
                    case "forbidden":
                        throw new HttpError("forbidden", "You may not listen to this object.", { channel });
                    case "unavailable":
                        req.log.warn(
                            { channel, reason: result.reason, status: result.status, cause: result.cause },
                            "access check unavailable"
                        );
                        throw new HttpError(
                            "access_check_unavailable",
                            "The Mendix access check is unavailable; try again later.",
                            { reason: result.reason },
                            result.retryAfterSeconds === undefined
                                ? undefined
                                : { "Retry-After": String(result.retryAfterSeconds) }
                        );
                    case "allowed":
                        req.log.debug({ channel, user: result.user }, "access granted");
                        break;
                }
            } else {
                req.log.debug({ channel }, "relayed authorization");
            }
            const signed = ctx.pusher().authorizeChannel(socketId, channel);
            // Spliced JSON (AuthResponse): the kept payloads go out as they were sent, without parsing them again.
            const catchup = ctx.catchup.authorize(channel, cursor ? parseCursor(cursor)! : undefined);
            res.type("application/json").send(`{"auth":${JSON.stringify(signed.auth)},"catchup":${catchup}}`);
        }
    );
    return router;
}
