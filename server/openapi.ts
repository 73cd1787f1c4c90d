/**
 * OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`. Patterns and limits come from
 * the shared protocol module and the routes, so the document follows the code; the API tests
 * validate real responses against the schemas declared here.
 */
import {
    ACTION_NAME_PATTERN,
    CHANNEL_NAME_PATTERN,
    ENTITY_NAME_PATTERN,
    GUID_PATTERN,
    MAX_ACTION_LENGTH,
    MAX_CHANNEL_NAME_LENGTH,
    MAX_DATA_LENGTH,
    MAX_PAYLOAD_BYTES,
    MAX_TOPIC_LENGTH
} from "../protocol/index.js";
import { CORS_ALLOWED_HEADERS } from "./middleware.js";
import { ERROR_CODES, type ErrorCode } from "./errors.js";
import { MAX_BATCH_SIZE, MAX_SENDER_LENGTH } from "./routes/notify.js";
import { BATCH_CHUNK_SIZE } from "./trigger.js";

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const SOCKET_ID = { type: "string", pattern: "^\\d+\\.\\d+$", examples: ["123.456"] };
const nullable = (schema: Schema): Schema => ({ ...schema, type: [schema.type as string, "null"] });

function errorSchema(codes: readonly ErrorCode[]): Schema {
    return {
        allOf: [ref("Error")],
        properties: { error: { properties: { code: { enum: [...codes] } } } }
    };
}

function errorResponse(description: string, codes: readonly ErrorCode[], headers?: Schema): Schema {
    const response: Schema = {
        description,
        content: { "application/json": { schema: errorSchema(codes) } }
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

const notificationProperties: Schema = {
    topic: nullable({
        type: "string",
        minLength: 1,
        maxLength: MAX_TOPIC_LENGTH,
        pattern: CHANNEL_NAME_PATTERN.source,
        description:
            "What listeners listen to; the channel is `private-<topic>`. Default per-object topic: `<Module.Entity>.<guid>`. Either `topic`, or `entity` and `guid`.",
        examples: ["Sales.Order.281474976710657", "Sales.Order.SO-1001"]
    }),
    entity: nullable({
        type: "string",
        pattern: ENTITY_NAME_PATTERN.source,
        description: "Entity of the changed object (payload `entity`); with `guid` and no topic gives the topic.",
        examples: ["Sales.Order"]
    }),
    guid: nullable({
        type: "string",
        pattern: GUID_PATTERN.source,
        description: "Mendix object id (payload `guid`).",
        examples: ["281474976710657"]
    }),
    action: {
        type: "string",
        minLength: 1,
        maxLength: MAX_ACTION_LENGTH,
        pattern: ACTION_NAME_PATTERN.source,
        not: { pattern: "^(pusher|client-)" },
        description:
            "Event name: the widget runs the action with this name. Must not start with `pusher` or `client-`.",
        examples: ["refresh"]
    },
    sender: nullable({
        type: "string",
        maxLength: MAX_SENDER_LENGTH,
        description:
            "Who caused the change (payload `sender`, default empty); widgets may ignore their own user's notifications."
    }),
    changedDate: nullable({
        type: "string",
        format: "date-time",
        description: "ISO 8601 date-time (payload `changedDate`, normalised to UTC); default: now."
    }),
    data: nullable({
        type: "string",
        maxLength: MAX_DATA_LENGTH,
        description: "Optional short string passed to the action (payload `data`)."
    }),
    socketId: nullable({
        ...SOCKET_ID,
        description: "pusher-js socket id that must not receive this notification (the sender's own page)."
    })
};

/** Build the document (pure; same answer every time). */
export function createOpenApiDocument(): Schema {
    return {
        openapi: "3.1.0",
        jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
        info: {
            title: "Notify & Listen companion server",
            version: "1.0.0",
            summary: "Push a signal from a Mendix microflow to every open page that shows an object.",
            description:
                "Pusher-compatible key and channel authorization endpoints for the Listen widget, and notify endpoints for the Mendix app. " +
                'Errors are JSON `{ "error": { "code", "message", "details"? } }`. ' +
                "With the embedded broker the same port also serves the Pusher protocol 7 WebSocket `/app/<key>` and the Pusher HTTP events API " +
                "(`POST /apps/<app_id>/events`, `POST /apps/<app_id>/batch_events`), which are Pusher's own APIs and not described here.",
            license: { name: "Apache-2.0", identifier: "Apache-2.0" }
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
                    summary: "Authorize a private channel subscription",
                    description:
                        "Browser caller: the `Cookie` and `X-Csrf-Token` headers are forwarded to the Mendix access check " +
                        "(`POST <MENDIX_APP_URL>/rest/notifylisten/v1/access` with `{ channel, topic }`); signs only when it answers 200. " +
                        "Mendix app relay: `Authorization: Bearer <NOTIFY_API_KEY>` signs without an access check. " +
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
                        "403": errorResponse("The user may not listen to this object.", ["forbidden"]),
                        "413": errorResponse("Body larger than 16 KB.", ["payload_too_large"]),
                        "415": errorResponse("Neither form-urlencoded nor JSON.", ["unsupported_media_type"]),
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
                    description: `Triggers the action on channel \`private-<topic>\` with payload \`{ entity, guid, changedDate, sender, data? }\` (at most ${MAX_PAYLOAD_BYTES} bytes). Body at most 16 KB.`,
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
                        "415": errorResponse("Not JSON.", ["unsupported_media_type"]),
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
                        "415": errorResponse("Not JSON.", ["unsupported_media_type"]),
                        "429": rateLimited,
                        "502": {
                            description: "A broker call failed; earlier chunks were sent.",
                            content: {
                                "application/json": {
                                    schema: {
                                        allOf: [errorSchema(["broker_error"])],
                                        properties: {
                                            error: {
                                                required: ["details"],
                                                properties: { details: ref("BatchFailure") }
                                            }
                                        }
                                    }
                                }
                            }
                        },
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
                        "200": jsonResponse("The process answers.", {
                            type: "object",
                            required: ["status"],
                            additionalProperties: false,
                            properties: { status: { const: "ok" } }
                        })
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
                        "200": jsonResponse("Ready.", {
                            type: "object",
                            required: ["status", "broker"],
                            additionalProperties: false,
                            properties: { status: { const: "ready" }, broker: { enum: ["embedded", "pusher"] } }
                        }),
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
                        "200": jsonResponse("OpenAPI 3.1 document.", {
                            type: "object",
                            required: ["openapi", "info", "paths"],
                            properties: { openapi: { type: "string", pattern: "^3\\.1\\." } }
                        })
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
                Error: {
                    type: "object",
                    required: ["error"],
                    additionalProperties: false,
                    properties: {
                        error: {
                            type: "object",
                            required: ["code", "message"],
                            additionalProperties: false,
                            properties: {
                                code: { type: "string", enum: ERROR_CODES },
                                message: { type: "string", minLength: 1 },
                                details: {
                                    description:
                                        "For invalid_request: an array of `{ path, message }` (zod issues); otherwise an object."
                                }
                            }
                        }
                    }
                },
                KeyResponse: {
                    type: "object",
                    required: ["key", "cluster"],
                    additionalProperties: false,
                    properties: {
                        key: { type: "string", minLength: 1 },
                        cluster: { type: "string", minLength: 1, description: "`local` when not Pusher Channels." },
                        wsHost: { type: "string", minLength: 1 },
                        wsPort: { type: "integer", minimum: 1, maximum: 65535 },
                        forceTLS: { type: "boolean" }
                    }
                },
                AuthRequest: {
                    type: "object",
                    required: ["socket_id", "channel_name"],
                    properties: {
                        socket_id: SOCKET_ID,
                        channel_name: {
                            type: "string",
                            maxLength: MAX_CHANNEL_NAME_LENGTH,
                            pattern: `^private-${CHANNEL_NAME_PATTERN.source.slice(1)}`,
                            examples: ["private-Sales.Order.281474976710657"]
                        }
                    }
                },
                AuthResponse: {
                    type: "object",
                    required: ["auth"],
                    additionalProperties: false,
                    properties: {
                        auth: {
                            type: "string",
                            pattern: "^[^:]+:[0-9a-f]{64}$",
                            description: "`<key>:<hex HMAC-SHA256>`"
                        }
                    }
                },
                Notification: {
                    type: "object",
                    required: ["action"],
                    additionalProperties: false,
                    properties: notificationProperties,
                    anyOf: [
                        { required: ["topic"], properties: { topic: { type: "string" } } },
                        {
                            required: ["entity", "guid"],
                            properties: { entity: { type: "string" }, guid: { type: "string" } }
                        }
                    ]
                },
                NotificationBatch: {
                    type: "object",
                    required: ["notifications"],
                    additionalProperties: false,
                    properties: {
                        notifications: {
                            type: "array",
                            minItems: 1,
                            maxItems: MAX_BATCH_SIZE,
                            items: ref("Notification")
                        }
                    }
                },
                NotifyResponse: {
                    type: "object",
                    required: ["triggered", "channels"],
                    additionalProperties: false,
                    properties: {
                        triggered: { type: "integer", minimum: 0 },
                        channels: {
                            type: "array",
                            uniqueItems: true,
                            items: { type: "string", pattern: "^private-" }
                        }
                    }
                },
                BatchFailure: {
                    type: "object",
                    required: ["triggered", "failed"],
                    properties: {
                        triggered: {
                            type: "integer",
                            minimum: 0,
                            description: "Notifications sent before the failure."
                        },
                        failed: {
                            type: "array",
                            items: { type: "integer", minimum: 0 },
                            description: "Indexes of the notifications not sent."
                        },
                        reason: { type: "string" },
                        attempts: {
                            type: "integer",
                            minimum: 1,
                            description: "Attempts made for the failed broker call (bounded retries with backoff)."
                        }
                    }
                },
                NotificationPayload: {
                    description: "What listeners receive as the event data (JSON).",
                    type: "object",
                    required: ["entity", "guid", "changedDate", "sender"],
                    additionalProperties: false,
                    properties: {
                        entity: { type: "string" },
                        guid: { type: "string" },
                        changedDate: { type: "string", format: "date-time" },
                        sender: { type: "string" },
                        data: { type: "string", maxLength: MAX_DATA_LENGTH }
                    }
                }
            }
        }
    };
}
