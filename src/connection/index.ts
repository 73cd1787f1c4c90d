/** The connection as the rest of the widget sees it: the page-wide manager and what a listener hears. */
export { createConnectionManager, getPageConnectionManager, type ConnectionManager } from "./manager";
export type { ChannelListener, SubscriptionStatus } from "./status";
