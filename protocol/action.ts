/**
 * Action rules: an action is the Pusher event name, equal to an *Action name* in the widget's action list.
 * Shared by the widget (runtime and Studio Pro check) and the server; no DOM, no Node.
 */
import type { ValidationError } from "./validation.js";

/** Pusher's limit on event names. */
export const MAX_ACTION_LENGTH = 200;
/** Action names: same characters as channels; no `pusher:` / `client-` prefixes (reserved by Pusher). */
export const ACTION_NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;]+$/;

export function validateAction(action: string): ValidationError {
    if (action.trim().length === 0) {
        return "The action name is empty.";
    }
    if (action.length > MAX_ACTION_LENGTH) {
        return `The action name is ${action.length} characters long; at most ${MAX_ACTION_LENGTH} are allowed.`;
    }
    if (!ACTION_NAME_PATTERN.test(action)) {
        return `The action name "${action}" contains characters that are not allowed; use only letters, digits and _ - = @ , . ;`;
    }
    if (action.startsWith("pusher") || action.startsWith("client-")) {
        return `The action name "${action}" starts with a reserved prefix ("pusher" or "client-").`;
    }
    return null;
}
