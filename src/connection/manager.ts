import type { ServerEndpoints } from "../utils/endpoints";
import { getCsrfToken } from "../utils/session";
import { LINGER_MS } from "./channels";
import { createPusherJs } from "./pusherJs";
import { openServerConnection, type ServerConnection, type ServerConnectionDeps } from "./serverConnection";
import type { ChannelListener } from "./status";

/** What tests replace: pusher-js, fetch, the session's CSRF token, the reconnect jitter and the grace period. */
export type ConnectionManagerDeps = ServerConnectionDeps;

export interface ConnectionManager {
    /** Listen to `channel` on the server; returns the function that stops listening. */
    subscribe(endpoints: ServerEndpoints, channelName: string, listener: ChannelListener): () => void;
    /**
     * Tears the manager down: closes every connection at once (no grace period) and stops every timer. Widgets still
     * mounted hear nothing more; their unsubscribe functions become no-ops.
     */
    close(): void;
    /** Number of open (or opening, or lingering) connections; one per server URL in use. */
    readonly connectionCount: number;
    /** Channels with at least one listener on the connection to `base`. */
    channelNames(base: string): string[];
}

/**
 * One pusher-js connection per page and server, shared by all Listen widgets (see `openServerConnection`). `deps`
 * replaces the real pusher-js, fetch, session, jitter and grace period in tests.
 */
export function createConnectionManager(deps: Partial<ConnectionManagerDeps> = {}): ConnectionManager {
    const allDeps: ConnectionManagerDeps = {
        createPusher: createPusherJs,
        fetch: (input, init) => globalThis.fetch(input, init),
        getCsrfToken,
        random: Math.random,
        lingerMs: LINGER_MS,
        ...deps
    };
    /** The connection per server base URL. */
    const connections = new Map<string, ServerConnection>();
    return {
        subscribe(endpoints, channelName, listener) {
            const base = endpoints.base;
            let connection = connections.get(base);
            if (connection === undefined) {
                connection = openServerConnection(endpoints, allDeps, () => connections.delete(base));
                connections.set(base, connection);
            }
            return connection.add(channelName, listener);
        },
        close() {
            for (const connection of [...connections.values()]) {
                connection.close();
            }
        },
        get connectionCount() {
            return connections.size;
        },
        channelNames(base) {
            return connections.get(base)?.channelNames() ?? [];
        }
    };
}

let pageManager: ConnectionManager | undefined;

/** The page-wide manager shared by every Listen widget. */
export function getPageConnectionManager(): ConnectionManager {
    if (pageManager === undefined) {
        pageManager = createConnectionManager();
    }
    return pageManager;
}
