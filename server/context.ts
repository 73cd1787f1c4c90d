/**
 * What the routes need from the running server, built once by `createApp`.
 */
import type Pusher from "pusher";
import type { Logger } from "pino";
import type { ApiKeyChecker } from "./apikey.js";
import type { Catchup } from "./catchup.js";
import type { ClusterAdapter } from "./cluster/index.js";
import type { Config } from "./config.js";
import type { AccessClient } from "./mendix/access.js";
import type { ProbeResult } from "./pusher.js";
import type { Trigger } from "./trigger.js";

export interface ServerContext {
    config: Config;
    logger: Logger;
    apiKey: ApiKeyChecker;
    /** The public key browsers use (embedded broker's key or PUSHER_KEY). */
    brokerKey: string;
    /** The pusher SDK instance: signs channel authorizations (and triggers, with an external broker). */
    pusher(): Pusher;
    /**
     * Hands notifications to the broker: the pusher SDK (external broker) or in-process (embedded broker), each
     * stamped and kept for catch-up.
     */
    trigger: Trigger;
    /** What widgets that subscribe again missed (the `catchup` of channel authorizations). */
    catchup: Catchup;
    /** Client of the Mendix access check (keep-alive connections, closed with the app). */
    access: AccessClient;
    /** Base URL of the Mendix app for access checks, if any. */
    accessCheckBaseUrl(): string | undefined;
    /** Readiness of the broker: embedded = listening and not closing; external = cached signed probe. */
    brokerReady(): Promise<ProbeResult>;
    /** What the instances share (REDIS_URL): its health is part of `/readyz`. */
    cluster: Pick<ClusterAdapter, "kind" | "health">;
    /** True once `close()` started. */
    isClosing(): boolean;
}
