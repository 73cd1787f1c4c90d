import { getCSRFToken, getUserName } from "mendix/session";

/** The parts of the classic `window.mx.session` used as a fallback on clients without `mendix/session`. */
interface LegacySession {
    getConfig?: (key: string) => unknown;
    sessionData?: { csrftoken?: unknown; user?: { attributes?: { Name?: { value?: unknown } } } };
    getUserName?: () => unknown;
}

function legacySession(): LegacySession | undefined {
    return (globalThis as { mx?: { session?: LegacySession } }).mx?.session;
}

/** The first non-empty string the sources give; a source that throws (or is missing) is skipped. */
function firstOf(...sources: Array<() => unknown>): string | undefined {
    for (const source of sources) {
        try {
            const value = source();
            if (typeof value === "string" && value !== "") {
                return value;
            }
        } catch {
            // Not available in this Mendix version: try the next source.
        }
    }
    return undefined;
}

/** CSRF token of the current Mendix session (sent as `X-Csrf-Token`), or undefined when there is none. */
export function getCsrfToken(): string | undefined {
    return firstOf(
        getCSRFToken,
        () => legacySession()?.getConfig?.("csrftoken"),
        () => legacySession()?.sessionData?.csrftoken
    );
}

/** Name of the signed-in user (compared with a notification's `sender`), or undefined when unknown. */
export function getCurrentUserName(): string | undefined {
    return firstOf(
        getUserName,
        () => legacySession()?.getUserName?.(),
        () => legacySession()?.sessionData?.user?.attributes?.Name?.value
    );
}
