/**
 * The OpenAPI 3.0 document of the HTTP API, served at `GET /openapi.json`: OpenAPI 3.0 because Studio Pro's
 * import of consumed REST services targets OpenAPI 2.0 and 3.0, not 3.1 (docs/openapi.md). Every schema in it is
 * GENERATED from the zod schemas the routes validate with (./schemas.ts, ./routes/notify.ts, ./routes/auth.ts)
 * by `z.toJSONSchema(schema, { target: "openapi-3.0" })`, so each rule is written once, in the protocol module
 * and the schemas built on it. Only the operations around them (paths, statuses, security) are written here.
 * test/api/openapi.test.ts validates the document with a standard OpenAPI 3.0 validator and real answers
 * against it.
 */
import { z } from "zod";
import {
    CHANNEL_NAME_PATTERN,
    MAX_CHANNEL_NAME_LENGTH,
    MAX_PAYLOAD_BYTES,
    PRESENCE_PREFIX,
    PRIVATE_PREFIX
} from "../protocol/index.js";
import { CORS_ALLOWED_HEADERS } from "./middleware.js";
import type { ErrorCode } from "./errors.js";
import { authRequestSchema, signableChannelSchema } from "./routes/auth.js";
import { MAX_BATCH_SIZE, batchSchema, notificationSchema } from "./routes/notify.js";
import {
    authResponseSchema,
    batchFailureSchema,
    errorBodySchema,
    errorSchema,
    healthzSchema,
    keyResponseSchema,
    notificationPayloadSchema,
    notifyResponseSchema,
    readyzSchema
} from "./schemas.js";
import { BATCH_CHUNK_SIZE } from "./trigger.js";

type Schema = Record<string, unknown>;

export const OPENAPI_VERSION = "3.0.3";

// The channel authorization checks its channel in a refinement (the protocol's validateSignableChannel), which
// JSON Schema cannot state in full: the facets below come from the same protocol constants.
z.globalRegistry.add(signableChannelSchema, {
    minLength: PRESENCE_PREFIX.length + 1,
    maxLength: MAX_CHANNEL_NAME_LENGTH,
    pattern: CHANNEL_NAME_PATTERN.source,
    allOf: [{ pattern: `^(?:${PRIVATE_PREFIX}|${PRESENCE_PREFIX})` }],
    description:
        "`private-<topic>` (an object), `presence-<topic>` (who else views the object), `private-user-<encoded user name>` (one user's notifications; encoding in docs/notify.md) or `private-broadcast-<name>` (every signed-in user).",
    example: "private-Sales.Order.281474976710657"
});

/** What the document's own answer looks like (the part a client relies on). */
const documentSchema = z.looseObject({
    openapi: z.string().regex(/^3\.0\.\d+$/),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown())
});

/**
 * zod's output made exact for OpenAPI 3.0: without the `$schema` and `$id` keys an OpenAPI Schema Object does not
 * have, and with `nullable` moved into the branches of an `anyOf` (OpenAPI 3.0.3: `nullable` only takes effect
 * next to `type`; zod writes it next to the `anyOf` of a nullable union, such as an optional `guid`).
 */
function clean(schema: Schema): Schema {
    const { $schema: _schema, $id: _id, ...rest } = schema;
    return exactNullable(rest) as Schema;
}

function exactNullable(node: unknown): unknown {
    if (Array.isArray(node)) {
        return node.map(exactNullable);
    }
    if (node === null || typeof node !== "object") {
        return node;
    }
    const entries = Object.entries(node as Schema).map(([key, value]) => [
        key,
        // `properties` maps names to schemas; `enum`, `required` and `example` hold data, not schemas.
        key === "enum" || key === "required" || key === "example" ? value : exactNullable(value)
    ]);
    const schema = Object.fromEntries(entries) as Schema;
    if (schema.nullable === true && schema.type === undefined && Array.isArray(schema.anyOf)) {
        const { nullable: _nullable, anyOf, ...rest } = schema;
        return { ...rest, anyOf: (anyOf as Schema[]).map(branch => ({ ...branch, nullable: true })) };
    }
    return schema;
}

/** One schema, inline: requests as the server reads them (`input`), answers as it writes them (`output`). */
function schemaOf(schema: z.ZodType, io: "input" | "output" = "output"): Schema {
    return clean(z.toJSONSchema(schema, { target: "openapi-3.0", io }) as Schema);
}

/** Named schemas for `components.schemas`, referring to each other by `$ref`. */
function components(named: Record<string, z.ZodType>, io: "input" | "output"): Record<string, Schema> {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(named)) {
        registry.add(schema, { id });
    }
    const { schemas } = z.toJSONSchema(registry, {
        target: "openapi-3.0",
        io,
        uri: id => `#/components/schemas/${id}`
    }) as { schemas: Record<string, Schema> };
    return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, clean(schema)]));
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

function errorResponse(
    description: string,
    codes: readonly ErrorCode[],
    headers?: Schema,
    details?: z.ZodType
): Schema {
    const response: Schema = {
        description,
        content: { "application/json": { schema: schemaOf(errorBodySchema(codes, details)) } }
    };
    if (headers) {
        response.headers = headers;
    }
    return response;
}

function jsonResponse(description: string, schema: Schema): Schema {
    return { description, content: { "application/json": { schema } } };
}

const rateLimited = errorResponse("Too many requests from this client IP.", ["rate_limited"], {
    "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 0 } }
});
const internal = errorResponse("Unexpected error.", ["internal_error"]);
const unauthorizedBearer = errorResponse("No or wrong API key.", ["missing_api_key", "invalid_api_key"], {
    "WWW-Authenticate": { schema: { type: "string" } }
});

/** Build the document (pure; same answer every time). */
export function createOpenApiDocument(): Schema {
    return {
        openapi: OPENAPI_VERSION,
        info: {
            title: "Notify & Listen companion server",
            version: "1.0.0",
            description:
                "Push a signal from a Mendix microflow to every open page that shows an object. " +
                "Pusher-compatible key and channel authorization endpoints for the Listen widget, and notify endpoints for the Mendix app. " +
                'Errors are JSON `{ "error": { "code", "message", "details"? } }`. ' +
                "With the embedded broker the same port also serves the Pusher protocol 7 WebSocket `/app/<key>` and the Pusher HTTP events API " +
                "(`POST /apps/<app_id>/events`, `POST /apps/<app_id>/batch_events`), which are Pusher's own APIs and not described here.",
            license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" }
        },
        servers: [{ url: "/" }],
        tags: [
            { name: "listen", description: "Used by the Listen widget in the browser (pusher-js)." },
            { name: "notify", description: "Used by the Mendix app (Call REST), with the API key." },
            { name: "operations", description: "Probes and this document." }
        ],
        paths: {
            "/rest/pusher/key": {
                get: {
                    operationId: "getKey",
                    tags: ["listen"],
                    summary: "Client configuration for pusher-js",
                    description:
                        "Public configuration: the key and cluster, plus `wsHost`, `wsPort` and `forceTLS` when the broker is not Pusher Channels (`cluster` is then `local`). Never the secret or the app id.",
                    responses: {
                        "200": jsonResponse("Client configuration.", ref("KeyResponse")),
                        default: internal
                    }
                }
            },
            "/rest/pusher/auth": {
                post: {
                    operationId: "authorizeChannel",
                    tags: ["listen"],
                    summary: "Authorize a private or presence channel subscription",
                    description:
                        "Browser caller: the `Cookie` and `X-Csrf-Token` headers are forwarded to the Mendix access check " +
                        "(`POST <MENDIX_APP_URL>/rest/notifylisten/v1/access` with `{ channel, topic, kind }`); signs only when it answers 200. " +
                        "A user channel is signed only for its own user (the answered `user`); a presence channel's member is the answered `user` and `displayName` " +
                        "(the answer's `channel_data`; a `channel_data` in the request is ignored). " +
                        "Mendix app relay: `Authorization: Bearer <NOTIFY_API_KEY>` signs without an access check (user and presence channels: send `user`). " +
                        `CORS: origins in CORS_ORIGINS, allowed headers ${CORS_ALLOWED_HEADERS}, with credentials.`,
                    security: [{ mendixSession: [], csrfToken: [] }, { bearerAuth: [] }],
                    requestBody: {
                        required: true,
                        content: {
                            "application/x-www-form-urlencoded": { schema: ref("AuthRequest") },
                            "application/json": { schema: ref("AuthRequest") }
                        }
                    },
                    responses: {
                        "200": jsonResponse("Signature for pusher-js.", ref("AuthResponse")),
                        "400": errorResponse("Invalid socket_id or channel_name, or invalid JSON.", [
                            "invalid_request",
                            "invalid_json"
                        ]),
                        "401": errorResponse("No Mendix session, or wrong API key.", [
                            "not_authenticated",
                            "invalid_api_key"
                        ]),
                        "403": errorResponse(
                            "The user may not listen to this object, the user channel is another user's, or the Mendix app refused the subscription.",
                            ["forbidden"]
                        ),
                        "413": errorResponse("Body larger than 16 KB.", ["payload_too_large"]),
                        "415": errorResponse("Neither form-urlencoded nor JSON, not UTF-8, or compressed.", [
                            "unsupported_media_type"
                        ]),
                        "429": rateLimited,
                        "503": errorResponse("The Mendix access check is unreachable, failed or timed out.", [
                            "access_check_unavailable"
                        ]),
                        default: internal
                    }
                },
                options: {
                    operationId: "authorizeChannelPreflight",
                    tags: ["listen"],
                    summary: "CORS preflight",
                    security: [],
                    responses: {
                        "204": { description: "Origin allowed (Access-Control-Allow-* headers set)." },
                        "403": errorResponse("Origin not in CORS_ORIGINS.", ["forbidden"])
                    }
                }
            },
            "/rest/pusher/notify": {
                post: {
                    operationId: "notify",
                    tags: ["notify"],
                    summary: "Send one notification",
                    description: `Triggers the action on one channel: \`private-<topic>\` (\`topic\`, or \`entity\` and \`guid\`), \`private-user-<encoded user>\` (\`user\`) or \`private-broadcast-<name>\` (\`broadcast\`); exactly one of these targets. Payload \`{ entity, guid, changedDate, sender, actionName, data? }\` (at most ${MAX_PAYLOAD_BYTES} bytes; schema NotificationPayload). Body at most 16 KB.`,
                    security: [{ bearerAuth: [] }],
                    requestBody: { required: true, content: { "application/json": { schema: ref("Notification") } } },
                    responses: {
                        "200": jsonResponse("Triggered.", ref("NotifyResponse")),
                        "400": errorResponse("Invalid notification or invalid JSON.", [
                            "invalid_request",
                            "invalid_json"
                        ]),
                        "401": unauthorizedBearer,
                        "413": errorResponse("Body or payload too large.", ["payload_too_large"]),
                        "415": errorResponse("Not JSON, not UTF-8, or compressed (Content-Encoding).", [
                            "unsupported_media_type"
                        ]),
                        "429": rateLimited,
                        "502": errorResponse("The broker refused or could not be reached.", ["broker_error"]),
                        default: internal
                    }
                }
            },
            "/rest/pusher/notify/batch": {
                post: {
                    operationId: "notifyBatch",
                    tags: ["notify"],
                    summary: `Send 1 to ${MAX_BATCH_SIZE} notifications`,
                    description: `Validates all notifications first (any invalid one: 400, nothing sent), then triggers them in order. With Pusher Channels or a Pusher-compatible host: ${BATCH_CHUNK_SIZE} per broker call; if a call still fails after its retries (3 attempts with backoff), the rest is not sent. The embedded broker delivers them in-process (a refused batch delivers none). A failure answers 502 with \`details.triggered\` and \`details.failed\` (indexes to retry). Counts as one request for the rate limit. Body at most BODY_LIMIT_BYTES.`,
                    security: [{ bearerAuth: [] }],
                    requestBody: {
                        required: true,
                        content: { "application/json": { schema: ref("NotificationBatch") } }
                    },
                    responses: {
                        "200": jsonResponse("Triggered; `channels` lists each channel once.", ref("NotifyResponse")),
                        "400": errorResponse("Invalid batch or invalid JSON.", ["invalid_request", "invalid_json"]),
                        "401": unauthorizedBearer,
                        "413": errorResponse("Body or a payload too large.", ["payload_too_large"]),
                        "415": errorResponse("Not JSON, not UTF-8, or compressed (Content-Encoding).", [
                            "unsupported_media_type"
                        ]),
                        "429": rateLimited,
                        "502": errorResponse(
                            "A broker call failed; earlier chunks were sent.",
                            ["broker_error"],
                            undefined,
                            batchFailureSchema
                        ),
                        default: internal
                    }
                }
            },
            "/healthz": {
                get: {
                    operationId: "healthz",
                    tags: ["operations"],
                    summary: "Liveness",
                    security: [],
                    responses: {
                        "200": jsonResponse("The process answers.", schemaOf(healthzSchema))
                    }
                }
            },
            "/readyz": {
                get: {
                    operationId: "readyz",
                    tags: ["operations"],
                    summary: "Readiness",
                    description:
                        "Embedded broker: accepting connections. Pusher mode: a signed `GET /apps/<id>/channels` answered (cached a few seconds).",
                    security: [],
                    responses: {
                        "200": jsonResponse("Ready.", schemaOf(readyzSchema)),
                        "503": errorResponse("Broker unreachable or shutting down.", ["not_ready"]),
                        default: internal
                    }
                }
            },
            "/openapi.json": {
                get: {
                    operationId: "openapi",
                    tags: ["operations"],
                    summary: "This document",
                    security: [],
                    responses: {
                        "200": jsonResponse("This OpenAPI 3.0 document.", schemaOf(documentSchema))
                    }
                }
            }
        },
        components: {
            securitySchemes: {
                bearerAuth: {
                    type: "http",
                    scheme: "bearer",
                    description: "NOTIFY_API_KEY (at least 32 characters)."
                },
                mendixSession: {
                    type: "apiKey",
                    in: "cookie",
                    name: "XASSESSIONID",
                    description: "The browser's Mendix session cookies, forwarded to the access check."
                },
                csrfToken: {
                    type: "apiKey",
                    in: "header",
                    name: "X-Csrf-Token",
                    description: "The Mendix CSRF token, forwarded to the access check."
                }
            },
            schemas: {
                ...components(
                    {
                        AuthRequest: authRequestSchema,
                        Notification: notificationSchema,
                        NotificationBatch: batchSchema
                    },
                    "input"
                ),
                ...components(
                    {
                        Error: errorSchema,
                        KeyResponse: keyResponseSchema,
                        AuthResponse: authResponseSchema,
                        NotifyResponse: notifyResponseSchema,
                        BatchFailure: batchFailureSchema,
                        NotificationPayload: notificationPayloadSchema
                    },
                    "output"
                )
            }
        }
    };
}
