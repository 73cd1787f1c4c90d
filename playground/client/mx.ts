/**
 * The `window.mx` object the playground page sets up before any module runs, shaped like the Mendix
 * client's (`mx.session.sessionData`, `mx.session.getUserName()`, ...). Shared by the session shim and
 * the playground app.
 */
export interface MxSessionData {
    csrftoken: string;
    user: { guid: string; attributes: { Name: { value: string } } } | null;
    roles: string[];
}

export interface MxSession {
    sessionData: MxSessionData;
    getConfig(key: string): unknown;
    getUserId(): string;
    getUserName(): string;
    getUserRoleNames(): string[];
    isGuest(): boolean;
}

export interface MxGlobal {
    session: MxSession;
}

export function mx(): MxGlobal {
    const global = (window as unknown as { mx?: MxGlobal }).mx;
    if (!global) {
        throw new Error("window.mx is not set: the playground page sets it before loading the widget.");
    }
    return global;
}
