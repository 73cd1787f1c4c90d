/**
 * The OpenAPI document against the code: it must be a valid OpenAPI 3.0 document (Studio Pro imports 2.0 and
 * 3.0, not 3.1) by a standard validator, generated from the routes' own zod schemas, and REAL answers of every
 * documented operation and status must validate against the schemas it declares (and every documented status
 * must be produced here), so code and document cannot drift apart silently.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { z } from "zod";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenApiDocument } from "../../server/openapi";
import { batchSchema, notificationSchema } from "../../server/routes/notify";
import { keyResponseSchema, notificationPayloadSchema, notifyResponseSchema } from "../../server/schemas";
import { startFakeAccess, type FakeAccess } from "./fake-access";
import { startFakePusher, type FakePusher } from "./fake-pusher";
import { BEARER, answer, connectListener, postJson, startServer, type JsonBody, type TestServer } from "./helpers";

type Doc = JsonBody;
const METHODS = ["get", "post", "put", "patch", "delete", "options", "head"] as const;
const ORIGIN = "https://app.example.com";
const TOPIC = "Sales.Order.281474976710657";
/** What the Mendix 7 Java Notify action sends, verbatim. */
const HISTORIC_PAYLOAD =
    '{"changedDate":"1764583200000","sender":"MxAdmin","guid":"281474976710657","entity":"Sales.Order","actionName":"refresh"}';

/** The keywords of an OpenAPI 3.0 Schema Object (a subset of JSON Schema draft 5, plus OpenAPI's own). */
const SCHEMA_KEYWORDS = new Set([
    "$ref",
    "type",
    "nullable",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "description",
    "example",
    "default",
    "title"
]);

function walkSchemas(schema: unknown, at: string, visit: (schema: Record<string, unknown>, at: string) => void): void {
    if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
        return;
    }
    const record = schema as Record<string, unknown>;
    visit(record, at);
    for (const key of ["items", "not", "additionalProperties"]) {
        walkSchemas(record[key], `${at}/${key}`, visit);
    }
    for (const key of ["allOf", "anyOf", "oneOf"]) {
        (record[key] as unknown[] | undefined)?.forEach((sub, index) =>
            walkSchemas(sub, `${at}/${key}/${index}`, visit)
        );
    }
    for (const [name, sub] of Object.entries((record.properties as Record<string, unknown> | undefined) ?? {})) {
        walkSchemas(sub, `${at}/properties/${name}`, visit);
    }
}

/** Every schema of the document with its JSON pointer. */
function allSchemas(doc: Doc): Array<[string, unknown]> {
    const found: Array<[string, unknown]> = [];
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
        found.push([`#/components/schemas/${name}`, schema]);
    }
    for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
        for (const method of METHODS) {
            const operation = item[method];
            if (!operation) continue;
            const base = `#/paths/${path.replaceAll("/", "~1")}/${method}`;
            for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
                found.push([`${base}/requestBody/content/${type.replaceAll("/", "~1")}/schema`, (media as Doc).schema]);
            }
            for (const [status, response] of Object.entries(operation.responses as Record<string, Doc>)) {
                for (const [type, media] of Object.entries(response.content ?? {})) {
                    found.push([
                        `${base}/responses/${status}/content/${type.replaceAll("/", "~1")}/schema`,
                        (media as Doc).schema
                    ]);
                }
                for (const [header, value] of Object.entries(response.headers ?? {})) {
                    found.push([`${base}/responses/${status}/headers/${header}/schema`, (value as Doc).schema]);
                }
            }
        }
    }
    return found;
}

function resolvePointer(doc: Doc, pointer: string): unknown {
    return pointer
        .replace(/^#\//, "")
        .split("/")
        .map(part => part.replaceAll("~1", "/").replaceAll("~0", "~"))
        .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], doc);
}

interface Exchange {
    method: string;
    /** Documented path. */
    path: string;
    status: number;
    contentType: string | null;
    headers: Headers;
    body: unknown;
}

let access: FakeAccess;
let fakePusher: FakePusher;
let embedded: TestServer;
let external: TestServer;
let doc: Doc;
const exchanges: Exchange[] = [];

async function record(path: string, response: Promise<Response>): Promise<Exchange> {
    const res = await response;
    const text = await res.text();
    const exchange: Exchange = {
        method: "",
        path,
        status: res.status,
        contentType: res.headers.get("content-type"),
        headers: res.headers,
        body: text === "" ? undefined : JSON.parse(text)
    };
    exchanges.push(exchange);
    return exchange;
}

function call(server: TestServer, method: string, path: string, init: RequestInit = {}): Promise<Exchange> {
    return record(path, fetch(`${server.url}${path}`, { ...init, method })).then(exchange => {
        exchange.method = method.toLowerCase();
        return exchange;
    });
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
});
const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString()
});

beforeAll(async () => {
    access = await startFakeAccess("allow");
    fakePusher = await startFakePusher();
    embedded = await startServer({ MENDIX_APP_URL: access.url, MENDIX_TIMEOUT_MS: "200", CORS_ORIGINS: ORIGIN });
    external = await startServer({
        ...fakePusher.env,
        RATE_LIMIT_AUTH: "1",
        RATE_LIMIT_NOTIFY: "2"
    });
    doc = (await answer(fetch(`${embedded.url}/openapi.json`))).body;

    const auth = "/rest/pusher/auth";
    const fields = { socket_id: "1.1", channel_name: `private-${TOPIC}` };
    // Operations.
    await call(embedded, "GET", "/openapi.json");
    await call(embedded, "GET", "/healthz");
    await call(embedded, "GET", "/readyz");
    await call(embedded, "GET", "/rest/pusher/key");
    await call(external, "GET", "/rest/pusher/key");
    await call(external, "GET", "/readyz");
    fakePusher.down = true;
    const other = await startServer({
        ...fakePusher.env
    });
    try {
        await call(other, "GET", "/readyz");
    } finally {
        await other.close();
        fakePusher.down = false;
    }
    // Channel authorization.
    await call(embedded, "POST", auth, form(fields, { Cookie: "XASSESSIONID=1", "X-Csrf-Token": "t" }));
    await call(embedded, "POST", auth, json(fields, BEARER));
    await call(embedded, "POST", auth, form({ ...fields, socket_id: "x" }, BEARER));
    await call(embedded, "POST", auth, json("{", BEARER));
    await call(embedded, "POST", auth, form(fields, { Authorization: "Bearer wrong" }));
    access.mode = "unauthenticated";
    await call(embedded, "POST", auth, form(fields));
    access.mode = "forbidden";
    await call(embedded, "POST", auth, form(fields));
    access.mode = "hang";
    await call(embedded, "POST", auth, form(fields));
    access.mode = "allow";
    await call(embedded, "POST", auth, form({ ...fields, padding: "x".repeat(20_000) }, BEARER));
    await call(embedded, "POST", auth, { headers: { "Content-Type": "text/plain" }, body: "x" });
    await call(external, "POST", auth, form(fields));
    await call(external, "POST", auth, form(fields));
    await call(embedded, "OPTIONS", auth, {
        headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST" }
    });
    await call(embedded, "OPTIONS", auth, {
        headers: { Origin: "https://evil.example.com", "Access-Control-Request-Method": "POST" }
    });
    // Notify.
    for (const [path, good] of [
        ["/rest/pusher/notify", { topic: TOPIC, action: "refresh", data: "d" }],
        ["/rest/pusher/notify/batch", { notifications: [{ topic: TOPIC, action: "refresh" }] }]
    ] as const) {
        await call(embedded, "POST", path, json(good, BEARER));
        await call(embedded, "POST", path, json({ nope: 1 }, BEARER));
        await call(embedded, "POST", path, json("[", BEARER));
        await call(embedded, "POST", path, json(good));
        await call(embedded, "POST", path, json(good, { Authorization: "Bearer wrong" }));
        await call(embedded, "POST", path, { headers: { "Content-Type": "text/plain", ...BEARER }, body: "x" });
        await call(embedded, "POST", path, json({ topic: TOPIC, action: "a", data: "x".repeat(2_000_000) }, BEARER));
        const posted = fakePusher.calls.filter(c => c.method === "POST").length;
        // Fails every attempt of the next call (the server retries twice).
        fakePusher.failOn = new Set([posted + 1, posted + 2, posted + 3]);
        await call(external, "POST", path, json(good, BEARER));
    }
    await call(external, "POST", "/rest/pusher/notify", json({ topic: TOPIC, action: "refresh" }, BEARER));
    await call(
        external,
        "POST",
        "/rest/pusher/notify/batch",
        json({ notifications: [{ topic: TOPIC, action: "a" }] }, BEARER)
    );
    // Payload (not a response, but documented): what a listener receives.
    const listener = await connectListener(embedded.url);
    try {
        const received: unknown[] = [];
        (await listener.subscribe(`private-${TOPIC}`)).bind("refresh", (data: unknown) => received.push(data));
        await postJson(`${embedded.url}/rest/pusher/notify`, { topic: TOPIC, action: "refresh", data: "x" }, BEARER);
        const deadline = Date.now() + 3000;
        while (received.length === 0 && Date.now() < deadline) {
            await new Promise(resolve => setTimeout(resolve, 10));
        }
        payloads.push(...received);
    } finally {
        listener.disconnect();
    }
});

const payloads: unknown[] = [];

afterAll(async () => {
    await embedded?.close();
    await external?.close();
    await access?.close();
    await fakePusher?.close();
});

describe("GET /openapi.json", () => {
    it("serves the document built by the code", () => {
        expect(doc).toEqual(createOpenApiDocument());
        expect(exchanges.find(exchange => exchange.path === "/openapi.json")?.contentType).toMatch(
            /^application\/json/
        );
    });

    it("is a valid OpenAPI 3.0 document by a standard validator (schema and semantics)", async () => {
        expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
        // @apidevtools/swagger-parser: the official OpenAPI 3.0 JSON Schema, then $refs, paths, ids, parameters.
        await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toMatchObject({ openapi: doc.openapi });
        // ... and it notices a 3.1-only construct: the validator is not a rubber stamp.
        const broken = structuredClone(doc);
        broken.components.schemas.NotifyResponse.properties.triggered.type = ["integer", "null"];
        await expect(SwaggerParser.validate(broken)).rejects.toThrow();
    });

    it("generates its request and answer schemas from the zod schemas the routes validate with", () => {
        const generated = (schema: z.ZodType, io: "input" | "output") =>
            JSON.parse(JSON.stringify(z.toJSONSchema(schema, { target: "openapi-3.0", io })));
        const { schemas } = doc.components;
        expect(schemas.KeyResponse).toEqual(generated(keyResponseSchema, "output"));
        expect(schemas.NotifyResponse).toEqual(generated(notifyResponseSchema, "output"));
        expect(schemas.NotificationPayload).toEqual(generated(notificationPayloadSchema, "output"));
        const { $schema: _ignored, ...notification } = generated(notificationSchema, "input");
        // The one change to zod's output: `nullable` goes next to `type` (OpenAPI 3.0.3), into the anyOf branches.
        for (const name of ["guid", "changedDate"]) {
            const { nullable, anyOf, ...rest } = notification.properties[name];
            expect(nullable).toBe(true);
            notification.properties[name] = { ...rest, anyOf: anyOf.map((branch: Doc) => ({ ...branch, nullable })) };
        }
        expect(schemas.Notification).toEqual(notification);
        expect(schemas.NotificationBatch.properties.notifications.items).toEqual({
            $ref: "#/components/schemas/Notification"
        });
        expect(generated(batchSchema, "input").properties.notifications.maxItems).toBe(
            schemas.NotificationBatch.properties.notifications.maxItems
        );
    });

    it("has the required structure", () => {
        expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
        expect(Object.keys(doc.paths).sort()).toEqual(
            [
                "/healthz",
                "/openapi.json",
                "/readyz",
                "/rest/pusher/auth",
                "/rest/pusher/key",
                "/rest/pusher/notify",
                "/rest/pusher/notify/batch"
            ].sort()
        );
        const operationIds: string[] = [];
        const schemes = Object.keys(doc.components.securitySchemes);
        for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
            expect(path.startsWith("/")).toBe(true);
            for (const method of Object.keys(item)) {
                expect(METHODS).toContain(method);
                const operation = item[method];
                operationIds.push(operation.operationId);
                expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
                for (const [status, response] of Object.entries(operation.responses as Record<string, Doc>)) {
                    expect(status).toMatch(/^([1-5]\d\d|default)$/);
                    expect(typeof response.description).toBe("string");
                }
                for (const requirement of operation.security ?? []) {
                    for (const name of Object.keys(requirement)) {
                        expect(schemes).toContain(name);
                    }
                }
            }
        }
        expect(new Set(operationIds).size).toBe(operationIds.length);
    });

    it("uses only OpenAPI 3.0 Schema Object keywords (no 3.1 const, examples, type lists), and every $ref resolves", () => {
        const problems: string[] = [];
        for (const [pointer, schema] of allSchemas(doc)) {
            walkSchemas(schema, pointer, (node, at) => {
                for (const key of Object.keys(node)) {
                    if (!SCHEMA_KEYWORDS.has(key)) problems.push(`${at}: unknown keyword ${key}`);
                }
                if (Array.isArray(node.type)) problems.push(`${at}: a list of types is OpenAPI 3.1`);
                if (typeof node.$ref === "string" && resolvePointer(doc, node.$ref) === undefined) {
                    problems.push(`${at}: unresolved ${node.$ref}`);
                }
            });
        }
        expect(problems).toEqual([]);
    });
});

describe("real answers validate against the declared response schemas", () => {
    let ajv: Ajv;
    const compiled = new Map<string, ValidateFunction>();

    beforeAll(() => {
        // Ajv reads OpenAPI 3.0's `nullable`; `example` is an annotation (strict: false).
        ajv = new Ajv({ strict: false, allErrors: true });
        addFormats(ajv);
        ajv.addSchema({ ...doc, $id: "urn:notifylisten:openapi" });
    });

    function validator(pointer: string): ValidateFunction {
        let validate = compiled.get(pointer);
        if (!validate) {
            validate = ajv.compile({ $ref: `urn:notifylisten:openapi${pointer}` });
            compiled.set(pointer, validate);
        }
        return validate;
    }

    it("every documented status of every operation was produced and matches its schema", () => {
        const documented = new Set<string>();
        for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
            for (const [method, operation] of Object.entries(item as Record<string, Doc>)) {
                for (const status of Object.keys(operation.responses)) {
                    if (status !== "default") documented.add(`${method} ${path} ${status}`);
                }
            }
        }
        const seen = new Set<string>();
        const problems: string[] = [];
        for (const exchange of exchanges) {
            const key = `${exchange.method} ${exchange.path} ${exchange.status}`;
            seen.add(key);
            const operation = doc.paths[exchange.path]?.[exchange.method];
            if (!operation) {
                problems.push(`${key}: operation not documented`);
                continue;
            }
            const status = String(exchange.status);
            const response = operation.responses[status] ?? operation.responses.default;
            if (!response || !operation.responses[status]) {
                problems.push(`${key}: status not documented`);
                continue;
            }
            const base = `#/paths/${exchange.path.replaceAll("/", "~1")}/${exchange.method}/responses/${status}`;
            if (!response.content) {
                if (exchange.body !== undefined) problems.push(`${key}: undocumented body`);
                continue;
            }
            if (!exchange.contentType?.startsWith("application/json")) {
                problems.push(`${key}: content type ${exchange.contentType}`);
                continue;
            }
            const validate = validator(`${base}/content/application~1json/schema`);
            if (!validate(exchange.body)) {
                problems.push(
                    `${key}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(exchange.body).slice(0, 300)}`
                );
            }
            for (const header of Object.keys(response.headers ?? {})) {
                const value = exchange.headers.get(header);
                if (value === null) {
                    problems.push(`${key}: missing header ${header}`);
                    continue;
                }
                const headerSchema = validator(`${base}/headers/${header}/schema`);
                const typed = /^\d+$/.test(value) ? Number(value) : value;
                if (!headerSchema(typed)) problems.push(`${key}: header ${header}=${value} does not match`);
            }
        }
        expect(problems).toEqual([]);
        expect([...documented].filter(key => !seen.has(key)).sort()).toEqual([]);
    });

    it("what listeners receive matches NotificationPayload", () => {
        expect(payloads).toHaveLength(1);
        const validate = validator("#/components/schemas/NotificationPayload");
        expect(validate(payloads[0]), ajv.errorsText(validate.errors)).toBe(true);
    });

    it("request schemas accept what the server accepts and refuse what it refuses", () => {
        const notification = validator("#/components/schemas/Notification");
        const accepted = [
            { topic: TOPIC, action: "refresh" },
            { topic: TOPIC, action: "Refresh order" },
            { entity: "Sales.Order", guid: "1", action: "refresh", sender: "john", data: "x", socketId: "1.2" },
            { topic: "Custom.Topic", action: "a", changedDate: "2026-11-24T10:00:00.000Z", sender: null, data: null },
            // The Mendix 7 Java Notify payload, verbatim.
            JSON.parse(HISTORIC_PAYLOAD),
            { entity: "Sales.Order", guid: 281474976710657, action: "refresh", changedDate: 1764583200000 }
        ];
        const refused = [
            { action: "refresh" },
            { entity: "Sales.Order", action: "refresh" },
            { topic: TOPIC },
            { topic: TOPIC, action: "pusher:x" },
            { topic: TOPIC, action: "pusher_internal:x" },
            { topic: TOPIC, action: "client-x" },
            { topic: TOPIC, action: "" },
            { topic: "a b", action: "refresh" },
            { topic: TOPIC, action: "refresh", extra: 1 },
            { topic: TOPIC, action: "refresh", socketId: "1.1:private-x" },
            { topic: TOPIC, action: "refresh", changedDate: "yesterday" },
            { topic: TOPIC, action: "refresh", changedDate: -1 },
            { entity: "Sales.Order", guid: 2 ** 53, action: "refresh" }
        ];
        for (const body of accepted) {
            expect(notification(body), `${JSON.stringify(body)}: ${ajv.errorsText(notification.errors)}`).toBe(true);
            expect(notificationSchema.safeParse(body).success, JSON.stringify(body)).toBe(true);
        }
        for (const body of refused) {
            expect(notification(body), JSON.stringify(body)).toBe(false);
            expect(notificationSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
        }
    });

    it("states the notification targets and the presence answer", () => {
        const schemas = (doc as { components: { schemas: Record<string, { properties: Record<string, unknown> }> } })
            .components.schemas;
        expect(Object.keys(schemas.Notification.properties)).toEqual(
            expect.arrayContaining(["topic", "user", "broadcast"])
        );
        expect(schemas.AuthResponse.properties).toHaveProperty("channel_data");
        expect(JSON.stringify(schemas.Notification)).toContain("exactly one target");
    });

    it("the Notification schema gives the server's verdict on generated notifications", () => {
        const notification = validator("#/components/schemas/Notification");
        const pick = <T>(...values: T[]) => fc.constantFrom(...values);
        const body = fc.record(
            {
                topic: pick<unknown>(
                    TOPIC,
                    "Sales.Order.number.42",
                    "a b",
                    "encrypted-x",
                    "",
                    null,
                    1,
                    "t".repeat(157),
                    "user-mary",
                    "user-=6a",
                    "user-Mary=20Jones",
                    "broadcast-",
                    "broadcast-all"
                ),
                user: pick<unknown>("mary", "Mary Jones", "józef", "", "ó".repeat(30), null, 3),
                broadcast: pick<unknown>("all", "maintenance", "a b", "", null, false),
                entity: pick<unknown>("Sales.Order", "Sales", "1Sales.Order", null, 5),
                guid: pick<unknown>("281474976710657", "1a", 281474976710657, 2 ** 53, -1, 1.5, null),
                action: pick<unknown>("refresh", "Refresh order", "pusher:x", "pusherx", "client-x", "", null, 7),
                sender: pick<unknown>("john", "s".repeat(201), null, 3),
                changedDate: pick<unknown>(
                    "2026-11-24T10:00:00.000Z",
                    "2026-11-24T11:00:00+01:00",
                    "1764583200000",
                    1764583200000,
                    "2026-11-24",
                    "yesterday",
                    -1,
                    1.5,
                    null
                ),
                data: pick<unknown>("x", "d".repeat(8001), null, false),
                socketId: pick<unknown>("1.2", "1.1:x", null),
                other: pick<unknown>(1)
            },
            { requiredKeys: [] }
        );
        fc.assert(
            fc.property(body, value => {
                expect(notification(value), JSON.stringify(value)).toBe(notificationSchema.safeParse(value).success);
            }),
            { numRuns: 3_000 }
        );
    });

    it("channel authorization and batch schemas refuse what the server refuses", () => {
        const auth = validator("#/components/schemas/AuthRequest");
        expect(auth({ socket_id: "1.1", channel_name: `private-${TOPIC}` })).toBe(true);
        expect(auth({ socket_id: "1.1:private-x", channel_name: `private-${TOPIC}` })).toBe(false);
        expect(auth({ socket_id: "1.1", channel_name: TOPIC })).toBe(false);
        const batch = validator("#/components/schemas/NotificationBatch");
        const accepted = [{ topic: TOPIC, action: "refresh" }, JSON.parse(HISTORIC_PAYLOAD)];
        expect(batch({ notifications: accepted })).toBe(true);
        expect(batch({ notifications: [] })).toBe(false);
        expect(batch({ notifications: Array(101).fill(accepted[0]) })).toBe(false);
    });
});
