import type { Limits } from "../config";
import { ERROR_CODES } from "../protocol/errors";
import { type Access, OPERATIONS, type Operation } from "./operations";
import { RESPONSE_COMPONENTS, jsonSchemas, requestComponents } from "./schemas";

type Json = Record<string, unknown>;

/** `/api/conversations/:id` → `/api/conversations/{id}`. */
export const openApiPath = (honoPath: string): string => honoPath.replace(/:(\w+)/g, "{$1}");

const SECURITY: Record<Access, Json[]> = {
  user: [{ bearerToken: [] }],
  socket: [{ bearerToken: [] }, { socketTicket: [] }, { accessToken: [] }],
  file: [{ bearerToken: [] }, { signedLink: [] }],
  server: [{ serverKey: [] }],
  public: [],
};

const REASONS: Record<number, string> = {
  101: "Switching to the WebSocket protocol",
  200: "OK",
  201: "Created",
  204: "No content",
};

function parameters(op: Operation, inputs: Record<string, Json>): Json[] {
  const params: Json[] = [...op.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  if (op.query) {
    const query = inputs[op.query] ?? {};
    const properties = (query["properties"] ?? {}) as Record<string, Json>;
    const required = new Set((query["required"] ?? []) as string[]);
    for (const [name, schema] of Object.entries(properties)) {
      params.push({ name, in: "query", required: required.has(name), schema });
    }
  }
  return params;
}

/** A file's bytes, of whatever type. */
const FILE_CONTENT: Json = { "*/*": { schema: { type: "string", format: "binary" } } };

function operation(op: Operation, inputs: Record<string, Json>): Json {
  const responses: Json = {};
  for (const [status, component] of Object.entries(op.responses)) {
    const description = REASONS[Number(status)] ?? "OK";
    responses[status] =
      op.file === "response" && status === "200"
        ? { description, content: FILE_CONTENT }
        : component === null || component === undefined
          ? { description }
          : { description, content: { "application/json": { schema: ref(component) } } };
  }
  responses["default"] = { $ref: "#/components/responses/Error" };
  const out: Json = {
    operationId: `${op.method}${openApiPath(op.path).replace(/[^A-Za-z0-9]+(\w)?/g, (_, c?: string) => (c ?? "").toUpperCase())}`,
    tags: [op.tag],
    summary: op.summary,
    security: SECURITY[op.access],
    responses,
  };
  const params = parameters(op, inputs);
  if (params.length > 0) out["parameters"] = params;
  if (op.body) {
    out["requestBody"] = { required: true, content: { "application/json": { schema: ref(op.body) } } };
  }
  if (op.file === "request") out["requestBody"] = { required: true, content: FILE_CONTENT };
  return out;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** The OpenAPI 3.1 document of the Worker's HTTP API, for this deployment's limits. */
export function openApiDocument(limits: Limits): Json {
  const inputs = jsonSchemas(requestComponents(limits), "input");
  const outputs = jsonSchemas(RESPONSE_COMPONENTS, "output");
  const paths: Record<string, Json> = {};
  for (const op of OPERATIONS) {
    const path = (paths[openApiPath(op.path)] ??= {});
    path[op.method] = operation(op, inputs);
  }
  return {
    openapi: "3.1.1",
    info: {
      title: "Edge chat API",
      version: "2",
      description:
        "REST API of the chat service. The WebSocket protocol (frames, events, close codes) is in " +
        "/api/protocol.json; both are rendered at /api/docs. Errors always have the Error shape; " +
        `their codes: ${ERROR_CODES.join(", ")}.`,
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: { ...inputs, ...outputs },
      responses: {
        Error: {
          description: "An error (4xx, 5xx): see error.code",
          content: { "application/json": { schema: ref("Error") } },
        },
      },
      securitySchemes: {
        bearerToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "A token from /api/auth/*, the server API or the identity provider",
        },
        socketTicket: {
          type: "apiKey",
          in: "query",
          name: "ticket",
          description: "A single-use ticket from POST /api/ws-ticket (WebSocket routes only)",
        },
        accessToken: {
          type: "apiKey",
          in: "query",
          name: "access_token",
          description: "The token in the query (WebSocket routes only: browsers cannot set headers)",
        },
        signedLink: {
          type: "apiKey",
          in: "query",
          name: "s",
          description: "A file link signed for its reader (with u and e): what a message's attachment url is",
        },
        serverKey: {
          type: "http",
          scheme: "bearer",
          description: "A key of SERVER_API_KEYS (the host application's backend)",
        },
      },
    },
  };
}
