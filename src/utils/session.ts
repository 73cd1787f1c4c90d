/**
 * Session facts of the Mendix client: the CSRF token (sent as `X-Csrf-Token`) and the user name (compared with
 * a notification's `sender`). Read in this order, the first non-empty string wins:
 *
 * 1. the documented client API on `window.mx.session`: `getConfig("csrftoken")` (the token Mendix's published
 *    REST documentation tells JavaScript to send) and `getUserName()`;
 * 2. the pluggable-widget module `mendix/session` (`getCSRFToken()`, `getUserName()`), loaded with a DYNAMIC
 *    import: a Mendix client that does not provide it makes that import fail quietly, where a static import
 *    would stop the whole widget from loading;
 * 3. the session data objects `mx.session.sessionData` and `mx.sessionData` (what Mendix's own Pusher widget
 *    reads); not documented, so last.
 */
import type * as MendixSession from "mendix/session";

type SessionModule = Pick<typeof MendixSession, "getCSRFToken" | "getUserName">;

/** The parts of the classic `window.mx` read here. */
interface MxGlobal {
    session?: {
        getConfig?: (key: string) => unknown;
        getUserName?: () => unknown;
        sessionData?: SessionData;
    };
    sessionData?: SessionData;
}

interface SessionData {
    csrftoken?: unknown;
    user?: { attributes?: { Name?: { value?: unknown } } };
}

let sessionModule: SessionModule | undefined;

/**
 * Loads `mendix/session` (again); resolves when it is loaded or known to be missing, never rejects. Runs once
 * when this module is first imported; tests pass their own loader.
 */
export function loadSessionModule(
    load: () => Promise<SessionModule> = () => import("mendix/session")
): Promise<boolean> {
    return load().then(
        loaded => {
            sessionModule = loaded;
            return true;
        },
        () => {
            sessionModule = undefined;
            return false;
        }
    );
}

/** Settles once the first load of `mendix/session` has: true when the Mendix client provides it. */
export const sessionModuleLoaded: Promise<boolean> = loadSessionModule();

function mx(): MxGlobal | undefined {
    return (globalThis as { mx?: MxGlobal }).mx;
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
        () => mx()?.session?.getConfig?.("csrftoken"),
        () => sessionModule?.getCSRFToken(),
        () => mx()?.session?.sessionData?.csrftoken,
        () => mx()?.sessionData?.csrftoken
    );
}

/** Name of the signed-in user (compared with a notification's `sender`), or undefined when unknown. */
export function getCurrentUserName(): string | undefined {
    return firstOf(
        () => mx()?.session?.getUserName?.(),
        () => sessionModule?.getUserName(),
        () => mx()?.session?.sessionData?.user?.attributes?.Name?.value,
        () => mx()?.sessionData?.user?.attributes?.Name?.value
    );
}
