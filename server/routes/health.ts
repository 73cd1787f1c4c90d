/**
 * `GET /healthz` (liveness: the process answers) and `GET /readyz` (the broker accepts notifications and, with
 * REDIS_URL, Redis is reachable: without it this instance serves only its own sockets).
 */
import { Router } from "express";
import type { ServerContext } from "../context.js";
import { HttpError } from "../errors.js";

export function createHealthRouter(ctx: ServerContext): Router {
    const router = Router();
    const brokerKind = ctx.config.broker.mode === "embedded" ? "embedded" : "pusher";

    router.get("/healthz", (_req, res) => {
        res.json({ status: "ok" });
    });

    router.get("/readyz", async (_req, res) => {
        if (ctx.isClosing()) {
            throw new HttpError("not_ready", "The server is shutting down.", { broker: brokerKind });
        }
        const shared = ctx.cluster.health();
        if (!shared.ok) {
            throw new HttpError("not_ready", "Redis is not reachable; this instance serves only its own sockets.", {
                broker: brokerKind,
                redis: "unreachable",
                reason: shared.reason
            });
        }
        const probe = await ctx.brokerReady();
        if (!probe.ok) {
            throw new HttpError("not_ready", "The broker is not reachable.", {
                broker: brokerKind,
                reason: probe.reason
            });
        }
        res.json(
            ctx.cluster.kind === "redis"
                ? { status: "ready", broker: brokerKind, redis: "up" }
                : { status: "ready", broker: brokerKind }
        );
    });

    return router;
}
