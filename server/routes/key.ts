/**
 * `GET /rest/pusher/key`: the public client configuration for pusher-js. Never the secret or app id.
 */
import { Router, type Request } from "express";
import type { ServerContext } from "../context.js";
import type { KeyResponse } from "../schemas.js";

export type { KeyResponse };

/** Host and port the browser used (honouring X-Forwarded-Host/Proto per `trust proxy`). */
function requestEndpoint(req: Request): { host: string; port: number; tls: boolean } {
    const tls = req.protocol === "https";
    const host = req.hostname;
    const raw = req.host;
    const match = /:(\d+)$/.exec(raw);
    const port = match && !raw.endsWith("]") ? Number(match[1]) : tls ? 443 : 80;
    return { host, port, tls };
}

export function keyResponse(ctx: ServerContext, req: Request): KeyResponse {
    const { broker, ws } = ctx.config;
    switch (broker.mode) {
        case "pusher-channels":
            return { key: broker.key, cluster: broker.cluster };
        case "pusher-host":
            return {
                key: broker.key,
                cluster: "local",
                wsHost: ws.host ?? broker.host,
                wsPort: ws.port ?? broker.port,
                forceTLS: ws.tls ?? broker.useTLS
            };
        case "embedded": {
            const endpoint = requestEndpoint(req);
            return {
                key: ctx.brokerKey,
                cluster: "local",
                wsHost: ws.host ?? endpoint.host,
                wsPort: ws.port ?? endpoint.port,
                forceTLS: ws.tls ?? endpoint.tls
            };
        }
    }
}

export function createKeyRouter(ctx: ServerContext): Router {
    const router = Router();
    router.get("/rest/pusher/key", (req, res) => {
        res.json(keyResponse(ctx, req));
    });
    return router;
}
