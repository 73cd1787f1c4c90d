/**
 * Test stand-in for `mendix/session`, which ships only a `.d.ts` (the Mendix client provides it at run time).
 * vitest.config.ts aliases `mendix/session` to this file for the widget tests; tests change the session with
 * `setTestSession`.
 */
interface TestSession {
    csrfToken: string;
    userName: string;
    /** Simulates a Mendix client without `mendix/session`: every function throws. */
    unavailable: boolean;
}

const defaults: TestSession = { csrfToken: "test-csrf-token", userName: "tester", unavailable: false };
const session: TestSession = { ...defaults };

export function setTestSession(changes: Partial<TestSession>): void {
    Object.assign(session, changes);
}

export function resetTestSession(): void {
    Object.assign(session, defaults);
}

function check(): void {
    if (session.unavailable) {
        throw new Error("mendix/session is not available in this Mendix version");
    }
}

export function getCSRFToken(): string {
    check();
    return session.csrfToken;
}

export function getUserName(): string {
    check();
    return session.userName;
}

export function getUserId(): string {
    check();
    return "281474976710657";
}

export function getUserRoleNames(): string[] {
    check();
    return ["User"];
}

export function isGuest(): boolean {
    check();
    return false;
}
