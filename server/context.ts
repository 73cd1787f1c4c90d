/**
 * What the routes need from the running server, built once by `createApp`.
 */
import type Pusher from "pusher";
import type { Logger } from "pino";
import type { ApiKeyChecker } from "./apikey";
import type { Config } from "./config";
import type { ProbeResult, RetryPolicy } from "./pusher";

export interface ServerContext {
    config: Config;
    logger: Logger;
    apiKey: ApiKeyChecker;
    /** The public key browsers use (embedded broker's key or PUSHER_KEY). */
    brokerKey: string;
    /** The pusher SDK instance; throws before the server listens in embedded mode. */
    pusher(): Pusher;
    /** Base URL of the Mendix app for access checks, if any. */
    accessCheckBaseUrl(): string | undefined;
    /** Readiness of the broker: embedded = accepting; external = cached signed probe. */
    brokerReady(): Promise<ProbeResult>;
    /** True once `close()` started. */
    isClosing(): boolean;
    /** Retries of trigger calls to the broker. */
    retryPolicy: RetryPolicy;
}
