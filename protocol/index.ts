/**
 * The Notify & Listen wire protocol, shared by the widget (src/) and the companion server (server/):
 * topic -> channel `private-<topic>` (presence `presence-<topic>`, user and broadcast channels: ./channel-kind.ts); action = event name; payload = NotificationPayload.
 * Pure functions only: no DOM, no Node, no dependencies (docs/architecture.md, "Where each rule lives").
 */
export * from "./action.js";
export * from "./catchup.js";
export * from "./channel.js";
export * from "./channel-kind.js";
export * from "./payload.js";
export * from "./presence.js";
export * from "./user-name.js";
export * from "./validation.js";
