/**
 * A fake Mendix access check (`POST /rest/notifylisten/v1/access`) on 127.0.0.1 with an ephemeral
 * port. It records what it received and answers according to `mode`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";

export type AccessMode =
    /** 200 `{ "user": <user> }`, plus `"displayName": <displayName>` when that is set */
    | "allow"
    /** 401 */
    | "unauthenticated"
    /** 403 */
    | "forbidden"
    /** 500 */
    | "error"
    /** 404 (operation not published) */
    | "not_found"
    /** 200 with an HTML body */
    | "garbage"
    /** 200 JSON without `user` */
    | "wrong_json"
    /** 302 to a login page */
    | "redirect"
    /** never answers */
    | "hang";

export interface AccessRequestRecord {
    method: string;
    path: string;
    cookie?: string;
    csrfToken?: string;
    contentType?: string;
    requestId?: string;
    body: unknown;
}

export interface FakeAccess {
    /** Base URL to use as MENDIX_APP_URL. */
    url: string;
    mode: AccessMode;
    user: string;
    /** Answered as `displayName` in "allow" mode unless undefined (any JSON value, to test bad answers). */
    displayName: unknown;
    /** Delay before answering (ms), for slow-but-answering checks. */
    delayMs: number;
    readonly requests: AccessRequestRecord[];
    close(): Promise<void>;
}

export async function startFakeAccess(mode: AccessMode = "allow"): Promise<FakeAccess> {
    const app = express();
    const requests: AccessRequestRecord[] = [];
    const state: { mode: AccessMode; user: string; displayName: unknown; delayMs: number } = {
        mode,
        user: "john",
        displayName: undefined,
        delayMs: 0
    };
    app.post("/rest/notifylisten/v1/access", express.json(), async (req, res) => {
        requests.push({
            method: req.method,
            path: req.path,
            cookie: req.get("cookie"),
            csrfToken: req.get("x-csrf-token"),
            contentType: req.get("content-type"),
            requestId: req.get("x-request-id"),
            body: req.body
        });
        if (state.delayMs > 0) {
            await new Promise(resolve => setTimeout(resolve, state.delayMs));
        }
        switch (state.mode) {
            case "allow":
                res.json(
                    state.displayName === undefined
                        ? { user: state.user }
                        : { user: state.user, displayName: state.displayName }
                );
                return;
            case "unauthenticated":
                res.status(401).json({ error: "no session" });
                return;
            case "forbidden":
                res.status(403).json({ error: "no access" });
                return;
            case "error":
                res.status(500).send("boom");
                return;
            case "not_found":
                res.status(404).send("not found");
                return;
            case "garbage":
                res.type("html").send("<html>login</html>");
                return;
            case "wrong_json":
                res.json({ name: "john" });
                return;
            case "redirect":
                res.redirect(302, "/login.html");
                return;
            case "hang":
                return;
        }
    });
    const server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        get mode() {
            return state.mode;
        },
        set mode(value: AccessMode) {
            state.mode = value;
        },
        get user() {
            return state.user;
        },
        set user(value: string) {
            state.user = value;
        },
        get displayName() {
            return state.displayName;
        },
        set displayName(value: unknown) {
            state.displayName = value;
        },
        get delayMs() {
            return state.delayMs;
        },
        set delayMs(value: number) {
            state.delayMs = value;
        },
        requests,
        close: () =>
            new Promise<void>(resolve => {
                server.close(() => resolve());
                server.closeAllConnections();
            })
    };
}
