import { createContext } from "react";
import type { ConnectionManager } from "../connection";

/**
 * The connection manager Listen widgets use; without a provider, the page-wide one. Tests provide their own, built
 * with a fake pusher-js factory.
 */
export const ConnectionManagerContext = createContext<ConnectionManager | null>(null);
