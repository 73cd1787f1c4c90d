import { getCSRFToken, getUserName } from "mendix/session";

/** The parts of the classic `window.mx.session` used as a fallback on clients without `mendix/session`. */
interface LegacySession {
    getConfig?: (key: string) => unknown;
    sessionData?: { csrftoken?: unknown; user?: { attributes?: { Name?: { value?: unknown } } } };
    getUserName?: () => unknown;
}

function legacySession(): LegacySession | undefined {
    if (typeof window === "undefined") {
        return undefined;
    }
    const mx = (window as unknown as { mx?: { session?: LegacySession } }).mx;
    return mx?.session;
}

function nonEmpty(value: unknown): string | undefined {
    return typeof value === "string" && value.length > 0 ? value : undefined;
}

function attempt(read: () => unknown): string | undefined {
    try {
        return nonEmpty(read());
    } catch {
        return undefined;
    }
}

/** CSRF token of the current Mendix session (sent as `X-Csrf-Token`), or undefined when there is none. */
export function getCsrfToken(): string | undefined {
    return (
        attempt(() => getCSRFToken()) ??
        attempt(() => legacySession()?.getConfig?.("csrftoken")) ??
        attempt(() => legacySession()?.sessionData?.csrftoken)
    );
}

/** Name of the signed-in user (compared with a notification's `sender`), or undefined when unknown. */
export function getCurrentUserName(): string | undefined {
    return (
        attempt(() => getUserName()) ??
        attempt(() => legacySession()?.getUserName?.()) ??
        attempt(() => legacySession()?.sessionData?.user?.attributes?.Name?.value)
    );
}
