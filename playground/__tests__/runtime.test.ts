/**
 * The fake Mendix runtime on its own: the access check contract (docs/access-check.md),
 * sessions and CSRF tokens; plus the helpers that find the built widget.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { deflateRawSync } from "node:zlib";
import express, { type Request } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_CHECK_PATH, type FakeMendix, SESSION_COOKIE, createFakeMendix, readCookie } from "../runtime";
import { loadSessionSecret } from "../secret";
import { bareImports, findWidgetBuild, readZip } from "../widget-build";

const ORDER_1 = "281474976710657";
const ORDER_2 = "281474976710658";
const CUSTOMER = "562949953421313";

describe("fake Mendix runtime: POST /rest/notifylisten/v1/access", () => {
    let mendix: FakeMendix;
    let server: http.Server;
    let base: string;

    beforeAll(async () => {
        mendix = createFakeMendix();
        const app = express();
        app.use(mendix.router);
        server = http.createServer(app);
        await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
        await new Promise(resolve => server.close(resolve));
    });

    async function check(
        body: unknown,
        headers: Record<string, string> = {}
    ): Promise<{ status: number; body: Record<string, unknown> }> {
        const response = await fetch(base + ACCESS_CHECK_PATH, {
            method: "POST",
            headers: { "Content-Type": "application/json", ...headers },
            body: typeof body === "string" ? body : JSON.stringify(body)
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }

    function signedIn(user: string): Record<string, string> {
        const session = mendix.createSession(user);
        return { Cookie: mendix.cookieHeader(session), "X-Csrf-Token": session.csrfToken };
    }

    const topicOf = (entity: string, guid: string) => ({
        channel: `private-${entity}.${guid}`,
        topic: `${entity}.${guid}`
    });

    it("answers 200 { user, displayName } for john and mary on every demo object", async () => {
        for (const [user, displayName] of [
            ["john", "John Smith"],
            ["mary", "Mary Jones"]
        ]) {
            const headers = signedIn(user);
            for (const [entity, guid] of [
                ["Sales.Order", ORDER_1],
                ["Sales.Order", ORDER_2],
                ["Sales.Customer", CUSTOMER]
            ]) {
                const answer = await check(topicOf(entity, guid), headers);
                expect(answer).toEqual({ status: 200, body: { user, displayName } });
            }
        }
        const last = mendix.accessLog.at(-1);
        expect(last).toMatchObject({ status: 200, user: "mary", guid: CUSTOMER, topic: `Sales.Customer.${CUSTOMER}` });
    });

    it("resolves custom key topics (the Java-free path) to their object", async () => {
        const answer = await check(
            { channel: "private-Sales.Order.number.1002", topic: "Sales.Order.number.1002" },
            signedIn("john")
        );
        expect(answer).toEqual({ status: 200, body: { user: "john", displayName: "John Smith" } });
        expect(mendix.accessLog.at(-1)).toMatchObject({ status: 200, guid: ORDER_2 });
        expect(mendix.resolveTopic("Sales.Customer.code.ADA")?.guid).toBe(CUSTOMER);
    });

    it("kind object also allows the presence channel; user and broadcast answer the signed-in user without a decision", async () => {
        const eve = signedIn("eve");
        const presence = await check(
            { channel: `presence-Sales.Order.${ORDER_1}`, topic: `Sales.Order.${ORDER_1}`, kind: "object" },
            signedIn("mary")
        );
        expect(presence).toEqual({ status: 200, body: { user: "mary", displayName: "Mary Jones" } });
        // Eve may read nothing, but her own notifications and broadcasts are hers: the server compares the user.
        for (const body of [
            { channel: "private-user-john", topic: "user-john", kind: "user" },
            { channel: "private-broadcast-all", topic: "broadcast-all", kind: "broadcast" }
        ]) {
            expect(await check(body, eve)).toEqual({ status: 200, body: { user: "eve", displayName: "Eve Adams" } });
        }
        expect(mendix.accessLog.at(-1)).toMatchObject({ status: 200, kind: "broadcast", user: "eve" });
        // A presence channel is only for kind object; a user channel's channel must be the topic's.
        expect((await check({ channel: "presence-user-john", topic: "user-john", kind: "user" }, eve)).status).toBe(
            400
        );
        expect(
            (await check({ channel: `presence-Sales.Order.${ORDER_1}`, topic: `Sales.Order.${ORDER_1}` }, eve)).status
        ).toBe(403);
        expect((await check({ channel: "private-x", topic: "x", kind: "nope" }, eve)).status).toBe(400);
        expect((await check({ channel: "private-user-john", topic: "user-john", kind: "user" }, {})).status).toBe(401);
    });

    it("answers 403 (never 404) when the user may not read the object or it does not exist", async () => {
        const eve = signedIn("eve");
        const forbidden = await check(topicOf("Sales.Order", ORDER_1), eve);
        expect(forbidden.status).toBe(403);
        expect(forbidden.body).toMatchObject({ error: { code: "forbidden" } });
        const john = signedIn("john");
        for (const body of [
            topicOf("Sales.Order", "999"),
            topicOf("Sales.Customer", ORDER_1), // the GUID exists, but not as a customer
            topicOf("Nope.Thing", ORDER_1),
            { channel: "private-Sales.Order.number.4711", topic: "Sales.Order.number.4711" },
            { channel: "private-whatever", topic: "whatever" }
        ]) {
            const answer = await check(body, john);
            expect(answer.status, JSON.stringify(body)).toBe(403);
        }
    });

    it("answers 401 without a session, without or with a wrong CSRF token, and after sign-out", async () => {
        const body = topicOf("Sales.Order", ORDER_1);
        const session = mendix.createSession("john");
        const cookie = mendix.cookieHeader(session);
        const cases: Array<Record<string, string>> = [
            {},
            { "X-Csrf-Token": session.csrfToken },
            { Cookie: cookie },
            { Cookie: cookie, "X-Csrf-Token": "wrong" },
            { Cookie: cookie, "X-Csrf-Token": mendix.createSession("john").csrfToken },
            { Cookie: `${SESSION_COOKIE}=forged`, "X-Csrf-Token": session.csrfToken }
        ];
        for (const headers of cases) {
            const answer = await check(body, headers);
            expect(answer.status, JSON.stringify(headers)).toBe(401);
            expect(answer.body).toMatchObject({ error: { code: "not_authenticated" } });
        }
        await expect(check(body, { Cookie: cookie, "X-Csrf-Token": session.csrfToken })).resolves.toMatchObject({
            status: 200
        });
        mendix.destroySession(session.token);
        await expect(check(body, { Cookie: cookie, "X-Csrf-Token": session.csrfToken })).resolves.toMatchObject({
            status: 401
        });
    });

    it("answers 401 before looking at the body, then 400 on bad input", async () => {
        await expect(check("not json")).resolves.toMatchObject({ status: 401 });
        const john = signedIn("john");
        const bad: unknown[] = [
            "not json",
            {},
            { channel: "private-Sales.Order.1" },
            { topic: "Sales.Order.1" },
            { channel: 1, topic: 2 },
            // channel and topic must agree
            { channel: "private-Sales.Order.281474976710658", topic: `Sales.Order.${ORDER_1}` }
        ];
        for (const body of bad) {
            const answer = await check(body, john);
            expect(answer.status, JSON.stringify(body)).toBe(400);
            expect(answer.body).toMatchObject({ error: { code: "invalid_request" } });
        }
    });

    it("signs its sessions: a runtime with the same key accepts them (a restart), any other key or change does not", async () => {
        const secret = "a-test-session-secret-0123456789abcdef";
        const first = createFakeMendix({ sessionSecret: secret });
        const session = first.createSession("mary");
        const request = (cookie: string) => ({ headers: { cookie } }) as unknown as Request;
        const cookie = first.cookieHeader(session);

        // The next runtime (the restarted server) knows the session, its user and its CSRF token.
        const restarted = createFakeMendix({ sessionSecret: secret });
        expect(restarted.sessionFromRequest(request(cookie))).toMatchObject({
            user: { name: "mary" },
            csrfToken: session.csrfToken,
            token: session.token
        });
        expect(session.csrfToken).toMatch(/^[\w-]{20,}$/);
        expect(session.csrfToken).not.toBe(restarted.createSession("mary").csrfToken);

        // Another key, a changed user name, a changed signature or a cut cookie: no session.
        expect(
            createFakeMendix({ sessionSecret: "another-secret-0123456789abcdef0123" }).sessionFromRequest(
                request(cookie)
            )
        ).toBeUndefined();
        const [id, created, , mac] = session.token.split(".");
        const asJohn = `${id}.${created}.${Buffer.from("john").toString("base64url")}.${mac}`;
        for (const forged of [asJohn, `${session.token}x`, session.token.split(".").slice(0, 3).join("."), "x.y.z.w"]) {
            expect(restarted.sessionFromRequest(request(`${SESSION_COOKIE}=${forged}`)), forged).toBeUndefined();
        }
        // Signing out ends the session in the runtime that signed it out.
        restarted.destroySession(session.token);
        expect(restarted.sessionFromRequest(request(cookie))).toBeUndefined();
        // Without a key, every runtime has its own.
        expect(
            createFakeMendix().sessionFromRequest(
                request(createFakeMendix().cookieHeader(createFakeMendix().createSession("john")))
            )
        ).toBeUndefined();
    });

    it("createSession rejects unknown users; readCookie reads one cookie", () => {
        expect(() => mendix.createSession("mallory")).toThrow(/mallory/);
        expect(readCookie("a=1; XASSESSIONID=abc%3D; b=2", SESSION_COOKIE)).toBe("abc=");
        expect(readCookie("a=1", SESSION_COOKIE)).toBeUndefined();
        expect(readCookie(undefined, SESSION_COOKIE)).toBeUndefined();
    });
});

/** A minimal zip writer (stored and deflated entries) to test the mpk reader. */
function zip(files: Record<string, { content: string; deflate: boolean }>): Buffer {
    const locals: Buffer[] = [];
    const centrals: Buffer[] = [];
    let offset = 0;
    for (const [name, { content, deflate }] of Object.entries(files)) {
        const raw = Buffer.from(content);
        const data = deflate ? deflateRawSync(raw) : raw;
        const nameBytes = Buffer.from(name);
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0);
        local.writeUInt16LE(deflate ? 8 : 0, 8);
        local.writeUInt32LE(data.length, 18);
        local.writeUInt32LE(raw.length, 22);
        local.writeUInt16LE(nameBytes.length, 26);
        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE(deflate ? 8 : 0, 10);
        central.writeUInt32LE(data.length, 20);
        central.writeUInt32LE(raw.length, 24);
        central.writeUInt16LE(nameBytes.length, 28);
        central.writeUInt32LE(offset, 42);
        locals.push(local, nameBytes, data);
        centrals.push(central, nameBytes);
        offset += 30 + nameBytes.length + data.length;
    }
    const directory = Buffer.concat(centrals);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Object.keys(files).length, 8);
    end.writeUInt16LE(Object.keys(files).length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, directory, end]);
}

describe("finding the built widget", () => {
    const roots: string[] = [];
    const tempRoot = (): string => {
        const root = mkdtempSync(path.join(tmpdir(), "nl-widget-"));
        roots.push(root);
        return root;
    };

    afterAll(() => {
        for (const root of roots) {
            rmSync(root, { recursive: true, force: true });
        }
    });

    it("prefers dist/tmp, falls back to the newest mpk, and reports nothing when not built", () => {
        const empty = tempRoot();
        expect(findWidgetBuild(empty)).toBeUndefined();

        const withMpk = tempRoot();
        mkdirSync(path.join(withMpk, "dist/1.0.0"), { recursive: true });
        writeFileSync(
            path.join(withMpk, "dist/1.0.0/notifylisten.Listen.mpk"),
            zip({
                "package.xml": { content: "<package/>", deflate: false },
                "notifylisten/listen/Listen.mjs": { content: "export const Listen = 1;\n".repeat(50), deflate: true },
                "notifylisten/listen/Listen.css": { content: ".x{}", deflate: false }
            })
        );
        const fromMpk = findWidgetBuild(withMpk);
        expect(fromMpk?.source).toContain("notifylisten.Listen.mpk");
        expect(fromMpk?.files.sort()).toEqual(["Listen.css", "Listen.mjs"]);
        expect(fromMpk?.read("Listen.mjs")?.toString()).toBe("export const Listen = 1;\n".repeat(50));
        expect(fromMpk?.read("package.xml")).toBeUndefined();

        const dir = path.join(withMpk, "dist/tmp/widgets/notifylisten/listen");
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, "Listen.mjs"), "export const Listen = 2;");
        const fromDir = findWidgetBuild(withMpk);
        expect(fromDir?.source).toBe(path.join("dist/tmp/widgets/notifylisten/listen/Listen.mjs"));
        expect(fromDir?.read("Listen.mjs")?.toString()).toBe("export const Listen = 2;");
        expect(fromDir?.read("../../../../package.json")).toBeUndefined();
    });

    it("readZip rejects files that are not zips", () => {
        expect(() => readZip(Buffer.from("definitely not a zip file, just text"))).toThrow(/zip/i);
    });

    it("bareImports lists the bare specifiers a module imports", () => {
        const source = [
            "import { jsx } from 'react/jsx-runtime';",
            'import { useState, useEffect } from "react";',
            "import * as session from 'mendix/session';",
            'import "./side-effect.js";',
            'export { x } from "big.js";',
            'const lazy = import("react-dom");',
            'import local from "../local.mjs";'
        ].join("\n");
        expect(bareImports(source)).toEqual(["react/jsx-runtime", "react", "mendix/session", "big.js", "react-dom"]);
    });
});

describe("the playground's session key (secret.ts)", () => {
    it("is created once in its file, readable by its owner only, and the same on every later start", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "nl-secret-"));
        try {
            const file = path.join(dir, ".playground", "session-secret");
            const first = loadSessionSecret(file);
            expect(first.problem).toBeUndefined();
            expect(first.secret.length).toBe(32);
            expect(statSync(file).mode & 0o777).toBe(0o600);
            expect(loadSessionSecret(file).secret.equals(first.secret)).toBe(true);
            expect(readFileSync(file, "utf8")).not.toContain(first.secret.toString("hex"));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("says so, and still gives a key, when the file cannot be written", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "nl-secret-"));
        try {
            writeFileSync(path.join(dir, "blocker"), "a file where the folder should be");
            const result = loadSessionSecret(path.join(dir, "blocker", "session-secret"));
            expect(result.secret.length).toBe(32);
            expect(result.problem).toMatch(/sessions end when the server stops/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("lives in a folder git ignores", () => {
        const ignored = readFileSync(path.join(__dirname, "../../.gitignore"), "utf8").split("\n");
        expect(ignored).toContain(".playground/");
    });
});
