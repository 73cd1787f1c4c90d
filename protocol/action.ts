/**
 * Action rules: an action is the Pusher event name, equal to an *Action name* in the widget's action list.
 * Pusher's event-name rules, and nothing more: 1 to 200 characters of any text (spaces included), not starting
 * with `pusher:` or `pusher_internal:` (Pusher's own events) or `client-` (client events, which browsers send
 * to each other). Shared by the widget (runtime and Studio Pro check) and the server; no DOM, no Node.
 */
import type { TextRule, ValidationError } from "./validation.js";

/** Pusher's limit on event names. */
export const MAX_ACTION_LENGTH = 200;

/** Event-name prefixes an action may not start with, and why. */
export const RESERVED_ACTION_PREFIXES: ReadonlyArray<{ prefix: string; reason: string }> = [
    { prefix: "pusher:", reason: "Pusher reserves it for its own events" },
    { prefix: "pusher_internal:", reason: "Pusher reserves it for its own events" },
    { prefix: "client-", reason: "it marks client events, which browsers send to each other" }
];

/** The reserved-prefix rule as a pattern (for JSON Schema and the OpenAPI document). */
export const ACTION_NAME_PATTERN = new RegExp(
    `^(?!${RESERVED_ACTION_PREFIXES.map(({ prefix }) => prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`
);

/** The action rule as facets: what the OpenAPI document states and `validateAction` checks. */
export const ACTION_RULE: TextRule = { minLength: 1, maxLength: MAX_ACTION_LENGTH, patterns: [ACTION_NAME_PATTERN] };

export function validateAction(action: string): ValidationError {
    if (action.length === 0) {
        return "The action name is empty.";
    }
    if (action.length > MAX_ACTION_LENGTH) {
        return `The action name is ${action.length} characters long; at most ${MAX_ACTION_LENGTH} are allowed.`;
    }
    const reserved = RESERVED_ACTION_PREFIXES.find(({ prefix }) => action.startsWith(prefix));
    if (reserved !== undefined) {
        return `The action name "${action}" starts with "${reserved.prefix}", a reserved prefix: ${reserved.reason}. Choose another name.`;
    }
    return null;
}

/**
 * Events of the Pusher protocol itself (`pusher:subscription_succeeded`, `pusher_internal:member_added`, ...):
 * never an action. Everything else on a channel is a notification for the action of that name.
 */
export function isPusherEvent(event: string): boolean {
    return event.startsWith("pusher:") || event.startsWith("pusher_internal:");
}
