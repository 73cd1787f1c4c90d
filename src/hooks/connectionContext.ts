import { createContext } from "react";
import { getPageConnectionManager, type ConnectionManager } from "../utils/connection";

/**
 * The connection manager Listen widgets use: the page-wide one by default. Tests provide their own, built with a
 * fake pusher-js factory.
 */
export const ConnectionManagerContext = createContext<ConnectionManager | null>(null);

export function resolveManager(fromContext: ConnectionManager | null): ConnectionManager {
    return fromContext ?? getPageConnectionManager();
}
