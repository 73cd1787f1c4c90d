/**
 * Browser shim for the `mendix/session` module (Mendix 11.8+): what the Mendix client provides to
 * widgets under this bare specifier, backed by the fake runtime's session on `window.mx.session`.
 */
import { mx } from "./mx";

export function getCSRFToken(): string {
    return mx().session.sessionData.csrftoken;
}

export function getUserId(): string {
    return mx().session.getUserId();
}

export function getUserName(): string {
    return mx().session.getUserName();
}

export function getUserRoleNames(): string[] {
    return mx().session.getUserRoleNames();
}

export function isGuest(): boolean {
    return mx().session.isGuest();
}
