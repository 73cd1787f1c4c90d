/**
 * The Notify & Listen wire protocol, shared by the widget (src/) and the companion server (server/):
 * topic -> channel `private-<topic>`; action = event name; payload = NotificationPayload.
 * Pure functions only: no DOM, no Node, no dependencies (docs/architecture.md, "Where each rule lives").
 */
export * from "./action.js";
export * from "./catchup.js";
export * from "./channel.js";
export * from "./payload.js";
export * from "./validation.js";
