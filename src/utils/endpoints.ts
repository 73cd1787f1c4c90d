/** Where a widget's requests go: `<base>/rest/pusher/key` and `<base>/rest/pusher/auth`. */
export interface ServerEndpoints {
    /** Base URL without trailing slash; also the key under which widgets share one connection. */
    base: string;
    keyUrl: string;
    authUrl: string;
    /** True when the server is on another origin than the page (requests then send cookies with `include`). */
    crossOrigin: boolean;
}

export type ServerResolution = { ok: true; endpoints: ServerEndpoints } | { ok: false; message: string };

/** The page's own address: Mendix's `mx.appUrl` when present, else the page origin. */
export function appBaseUrl(): string {
    const appUrl = (globalThis as { mx?: { appUrl?: unknown } }).mx?.appUrl;
    return typeof appUrl === "string" && appUrl !== "" ? appUrl : (globalThis.location?.origin ?? "http://localhost");
}

/** Endpoints for the Server URL property (empty: the origin of `pageUrl`, the app's own origin). */
export function resolveServer(serverUrl: string | undefined, pageUrl: string = appBaseUrl()): ServerResolution {
    const configured = (serverUrl ?? "").trim();
    let url: URL;
    let page: URL;
    try {
        page = new URL(pageUrl);
        url = new URL(configured || page.origin, page);
    } catch {
        return {
            ok: false,
            message: `The Server URL "${configured}" is not a valid address; use for example https://notify.example.com or leave it empty.`
        };
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        return { ok: false, message: `The Server URL "${configured}" must start with https:// or http://.` };
    }
    const base = url.origin + url.pathname.replace(/\/+$/, "");
    return {
        ok: true,
        endpoints: {
            base,
            keyUrl: `${base}/rest/pusher/key`,
            authUrl: `${base}/rest/pusher/auth`,
            crossOrigin: page.origin !== url.origin
        }
    };
}
