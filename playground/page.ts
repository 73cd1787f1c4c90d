/**
 * The playground's HTML: import map first (bare specifiers -> playground modules), then `window.mx`
 * (the fake Mendix client's session), then the page data and the page's module.
 */
import { createHash } from "node:crypto";
import type { PlaygroundBootstrap } from "./client/bootstrap.js";

export interface PageSession {
    userName: string | null;
    userGuid: string;
    roles: string[];
    csrfToken: string;
}

/** JSON that is safe inside a <script> element. */
export function scriptJson(value: unknown): string {
    return JSON.stringify(value)
        .replace(/</g, "\\u003c")
        .replace(/>/g, "\\u003e")
        .replace(/&/g, "\\u0026")
        .replace(/\u2028/g, "\\u2028")
        .replace(/\u2029/g, "\\u2029");
}

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`);
}

/** Sets `window.mx.session` like the Mendix client does once the session is loaded. */
function mxScript(session: PageSession): string {
    return `(function (d) {
    var user = d.userName ? { guid: d.userGuid, attributes: { Name: { value: d.userName } } } : null;
    var session = {
        sessionData: { csrftoken: d.csrfToken, user: user, roles: d.roles },
        getConfig: function (key) { return key === "csrftoken" ? d.csrfToken : undefined; },
        getUserId: function () { return d.userName ? d.userGuid : ""; },
        getUserName: function () { return d.userName || ""; },
        getUserRoleNames: function () { return d.roles.slice(); },
        isGuest: function () { return !d.userName; }
    };
    window.mx = { session: session };
})(${scriptJson(session)});`;
}

export function renderPage(options: {
    importMap: { imports: Record<string, string> };
    session: PageSession;
    bootstrap: PlaygroundBootstrap;
    appUrl: string;
    cssUrl: string;
}): string {
    const { bootstrap } = options;
    const title = bootstrap.user ? `Playground · ${bootstrap.user.name}` : "Playground · signed out";
    const widgetCss = bootstrap.widgetCssUrl
        ? `\n    <link rel="stylesheet" href="${escapeHtml(bootstrap.widgetCssUrl)}">`
        : "";
    return `<!doctype html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link rel="icon" href="data:,">
    <title>${escapeHtml(title)} — Notify &amp; Listen</title>
    <link rel="stylesheet" href="${escapeHtml(options.cssUrl)}">${widgetCss}
    <script type="importmap">${scriptJson(options.importMap)}</script>
    <script>${mxScript(options.session)}</script>
    <script type="application/json" id="playground-data">${scriptJson(bootstrap)}</script>
    <script type="module" src="${escapeHtml(options.appUrl)}"></script>
</head>
<body>
    <div id="root"><noscript>The playground needs JavaScript.</noscript></div>
</body>
</html>
`;
}

/** Inline scripts a browser executes (the import map and `window.mx`; not the JSON data block), in order. */
export function inlineScripts(html: string): string[] {
    return [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>([\s\S]*?)<\/script>/g)]
        .filter(match => !/type="application\/json"/.test(match[1]))
        .map(match => match[2]);
}

/**
 * Content Security Policy of the page: scripts, styles and everything else only from this server, the two
 * inline scripts by their hashes, connections only to this server and its WebSocket, and no framing.
 */
export function contentSecurityPolicy(html: string, webSockets: readonly string[]): string {
    const hashes = inlineScripts(html).map(
        script => `'sha256-${createHash("sha256").update(script, "utf8").digest("base64")}'`
    );
    return [
        "default-src 'self'",
        `script-src 'self' ${hashes.join(" ")}`,
        "style-src 'self'",
        "img-src 'self' data:",
        `connect-src 'self' ${webSockets.join(" ")}`.trim(),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'"
    ].join("; ");
}
