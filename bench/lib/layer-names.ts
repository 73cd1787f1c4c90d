/** The steps of lib/layers-child.ts, for its child and for the driver (bench/layers.ts). */
export const LAYER_NAMES = [
    "minimal Express 5: express.json() + res.json()",
    "+ request context: id, child logger, completion log (server/request.ts)",
    "+ nosniff, CORS, no-store headers (http-hardening.ts, middleware.ts)",
    "+ rate limit (express-rate-limit through middleware.ts `limiter`)",
    "+ API key check (server/apikey.ts)",
    "+ body checks: readBody (16 KB, type, charset, presence) instead of express.json()",
    "+ zod: notificationSchema.safeParse",
    "+ prepareNotification: topic, channel, payload JSON, size",
    "+ trigger: catch-up stamp, broker checks, frame, delivery (no subscriber)"
];
