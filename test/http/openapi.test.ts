import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { openApiPath } from "../../src/openapi/document";
import { BASE } from "../helpers/api";

/**
 * The API documents itself: /api/openapi.json lists exactly the routes the Hono app serves, is a
 * well-formed OpenAPI 3.1 document, and the WebSocket protocol and the reference page sit beside it.
 */

type Json = Record<string, any>;

const get = async (path: string) => exports.default.fetch(new Request(BASE + path));
const getJson = async (path: string): Promise<Json> => {
  const res = await get(path);
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};

/** "GET /api/conversations/{id}" for every handler the app registered (middleware is method ALL). */
function servedRoutes(): Set<string> {
  const routes = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    const path = route.path.length > 1 ? route.path.replace(/\/$/, "") : route.path;
    routes.add(`${route.method} ${openApiPath(path)}`);
  }
  return routes;
}

function documentedRoutes(doc: Json): Set<string> {
  const routes = new Set<string>();
  for (const [path, methods] of Object.entries(doc["paths"] as Json)) {
    for (const method of Object.keys(methods as Json)) routes.add(`${method.toUpperCase()} ${path}`);
  }
  return routes;
}

/** Every `$ref` in `value`, with where it was found. */
function refsOf(value: unknown, at = "#", out: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((v, i) => refsOf(v, `${at}/${i}`, out));
  else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (key === "$ref" && typeof v === "string") out.push([at, v]);
      else refsOf(v, `${at}/${key}`, out);
    }
  }
  return out;
}

/** The value a local `$ref` ("#/a/b") points at in `doc`, or undefined. */
function resolve(doc: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  return ref
    .slice(2)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc);
}

describe("the OpenAPI document", () => {
  it("documents every route the app serves, and no route it does not", async () => {
    const doc = await getJson("/api/openapi.json");
    const served = servedRoutes();
    const documented = documentedRoutes(doc);
    const undocumented = [...served].filter((r) => !documented.has(r));
    const unserved = [...documented].filter((r) => !served.has(r));
    expect(
      undocumented,
      `served by the app but missing from the API document: add an entry for each to OPERATIONS in ` +
        `src/openapi/operations.ts (request/response schemas by name in src/openapi/schemas.ts)`,
    ).toEqual([]);
    expect(
      unserved,
      "listed in src/openapi/operations.ts but served by no route of the app: remove or fix them",
    ).toEqual([]);
    // Sanity: the walk really sees the app (routes of every sub-app, parameters included).
    expect(served).toContain("GET /api/conversations/{id}/messages");
    expect(served).toContain("PUT /api/server/users/{externalId}");
  });

  it("is structurally OpenAPI 3.1: versions, operations with responses, every $ref resolves", async () => {
    const doc = await getJson("/api/openapi.json");
    expect(doc["openapi"]).toMatch(/^3\.1\.\d+$/);
    expect(doc["info"]).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const methods = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
    const operationIds = new Set<string>();
    const schemes = Object.keys(doc["components"]["securitySchemes"]);
    for (const [path, item] of Object.entries(doc["paths"] as Json)) {
      expect(path).toMatch(/^\//);
      const declared = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item as Json)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(methods.has(method), where).toBe(true);
        expect(Object.keys(op["responses"] ?? {}).length, `${where} has responses`).toBeGreaterThan(0);
        for (const status of Object.keys(op["responses"]))
          expect(status, where).toMatch(/^([1-5]\d\d|default)$/);
        expect(operationIds.has(op["operationId"]), `${where}: unique operationId`).toBe(false);
        operationIds.add(op["operationId"]);
        const pathParams = (op["parameters"] ?? []).filter((p: Json) => p["in"] === "path");
        expect(pathParams.map((p: Json) => p["name"]).sort(), `${where}: path parameters`).toEqual(
          [...declared].sort(),
        );
        for (const p of op["parameters"] ?? []) {
          expect(["path", "query", "header", "cookie"], where).toContain(p["in"]);
          expect(p["schema"], `${where} parameter ${p["name"]}`).toBeTypeOf("object");
        }
        for (const requirement of op["security"] ?? []) {
          for (const name of Object.keys(requirement)) expect(schemes, where).toContain(name);
        }
      }
    }
    const refs = refsOf(doc);
    expect(refs.length).toBeGreaterThan(10);
    const broken = refs.filter(([, ref]) => resolve(doc, ref) === undefined);
    expect(broken, "every $ref resolves inside the document").toEqual([]);
  });

  it("describes bodies with the schemas the routes validate with, at this deployment's limits", async () => {
    const doc = await getJson("/api/openapi.json");
    const schemas = doc["components"]["schemas"];
    const send = doc["paths"]["/api/conversations/{id}/messages"]["post"];
    expect(send["requestBody"]["content"]["application/json"]["schema"]).toEqual({
      $ref: "#/components/schemas/SendMessageRequest",
    });
    // MAX_MESSAGE_CHARS's default (wrangler.toml) is what the body's maxLength says.
    expect(schemas["SendMessageRequest"]["properties"]["body"]["maxLength"]).toBeGreaterThan(0);
    expect(schemas["SendMessageRequest"]["required"]).toEqual(["body"]);
    expect(schemas["SendMessageRequest"]["additionalProperties"]).toBe(false);
    // A system message has no sender.
    expect(schemas["Message"]["properties"]["sender"]).toEqual({
      anyOf: [{ $ref: "#/components/schemas/User" }, { type: "null" }],
    });
    const history = doc["paths"]["/api/conversations/{id}/messages"]["get"];
    expect(history["parameters"].map((p: Json) => p["name"])).toEqual(["id", "before", "after", "limit"]);
  });
});

describe("the WebSocket protocol document and the reference page", () => {
  it("lists every frame, event and close code of src/protocol", async () => {
    const doc = await getJson("/api/protocol.json");
    expect(Object.keys(doc["clientFrames"]).sort()).toEqual(
      ["delete", "edit", "react", "read", "send", "typing"].sort(),
    );
    expect(Object.keys(doc["roomEvents"])).toContain("message.deleted");
    expect(Object.keys(doc["inboxEvents"])).toContain("conversation.removed");
    expect(doc["closeCodes"]["4401"]).toMatchObject({ name: "tokenInvalid", meaning: expect.any(String) });
    expect(doc["closeCodes"]["1009"]).toMatchObject({ name: "frameTooLarge" });
    const broken = refsOf(doc).filter(([, ref]) => resolve(doc, ref) === undefined);
    expect(broken, "every $ref resolves inside the document").toEqual([]);
  });

  it("serves a script-free HTML page naming every operation and close code", async () => {
    const res = await get("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/<script|<style|style=/i);
    const doc = await getJson("/api/openapi.json");
    for (const route of documentedRoutes(doc)) {
      const [method, path] = route.split(" ");
      expect(html, route).toContain(`${method} ${path}`);
    }
    expect(html).toContain("4403");
  });
});
