import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SECURITY_HEADERS } from "../../src/security-headers";
import { type ApiResult, type TestUser, registerUser, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures, STACK, expectHardenedHeaders, expectInternalError, show } from "../helpers/checks";
import { captureLogs } from "../helpers/logs";

/**
 * What leaves the Worker: the security headers and a request id on every answer, no stack or
 * secret in a response or a log line, and JSON logs that carry the request id.
 */

const figures = new Figures("headers");
afterAll(() => figures.print());

afterEach(() => {
  vi.restoreAllMocks();
});

describe("what every response carries", () => {
  let user: TestUser;
  let other: TestUser;
  let conversationId: string;
  beforeAll(async () => {
    user = await registerUser("Head", "Ers");
    other = await registerUser("Oth", "Er");
    conversationId = (await startConversation(user.token, [other.user.id])).conversation.id;
  });

  it("sets the security headers and a request id on successes and on every kind of error", async () => {
    const failingDb = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare" || prop === "batch") {
          return () => {
            throw new Error("D1_ERROR: no such table: users: SQLITE_ERROR (simulated)");
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const cases: [string, () => Promise<ApiResult<any>>, number][] = [
      ["health", () => call("GET", "/healthz"), 200],
      ["me", () => call("GET", "/api/me", { token: user.token }), 200],
      [
        "created",
        () =>
          call("POST", `/api/conversations/${conversationId}/messages`, {
            token: user.token,
            body: { body: "hi" },
          }),
        201,
      ],
      [
        "no content",
        () =>
          call("POST", `/api/conversations/${conversationId}/read`, { token: user.token, body: { seq: 1 } }),
        204,
      ],
      [
        "bad json",
        () =>
          call("POST", "/api/auth/login", { rawBody: "{", headers: { "content-type": "application/json" } }),
        400,
      ],
      ["no token", () => call("GET", "/api/me"), 401],
      [
        "forbidden origin",
        () =>
          call("GET", "/api/inbox/ws", { headers: { upgrade: "websocket", origin: "https://evil.example" } }),
        403,
      ],
      ["unknown route", () => call("GET", "/api/nothing-here"), 404],
      ["unknown method", () => call("PUT", "/api/me", { token: user.token, body: {} }), 404],
      ["options", () => call("OPTIONS", "/api/conversations"), 401],
      ["options, signed in", () => call("OPTIONS", "/api/me", { token: user.token }), 404],
      [
        "too large",
        () =>
          call("POST", "/api/auth/login", {
            rawBody: "x".repeat(70_000),
            headers: { "content-type": "application/json" },
          }),
        413,
      ],
      ["invalid", () => call("POST", "/api/auth/login", { body: {} }), 422],
      ["no upgrade", () => call("GET", "/api/inbox/ws", { token: user.token }), 426],
      ["database down", () => call("GET", "/api/me", { token: user.token, env: { DB: failingDb } }), 500],
    ];
    for (const [name, send, status] of cases) {
      const { result: res, lines } = await captureLogs(send);
      figures.add("responses checked");
      expect(res.status, `${name}: ${show(res.text)}`).toBe(status);
      expectHardenedHeaders(res.headers);
      for (const [header, value] of Object.entries(SECURITY_HEADERS))
        expect(res.headers.get(header), `${name}: ${header}`).toBe(value);
      expect(res.text, name).not.toMatch(STACK);
      expect(res.text, name).not.toContain("D1_ERROR");
      expect(res.text, name).not.toContain("SQLITE");
      if (status >= 400) expect(res.headers.get("content-type"), name).toMatch(/^application\/json/);
      if (status === 500) {
        const requestId = expectInternalError(res, name);
        expect(lines.map((l) => JSON.parse(l))).toContainEqual(
          expect.objectContaining({
            level: "error",
            requestId,
            message: expect.stringContaining("D1_ERROR"),
          }),
        );
      }
    }
  });

  it("serves the web page with a strict Content-Security-Policy, nosniff and no referrer", async () => {
    // Static assets never reach the Worker: their headers come from src/client/static/_headers,
    // copied into .build/client by `npm run build:client` (npm test builds before it tests).
    const page = await env.ASSETS.fetch(new Request("https://chat.test/"));
    expect(page.status).toBe(200);
    await page.arrayBuffer();
    const csp = page.headers.get("content-security-policy") ?? "(none: run npm run build:client)";
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    figures.add("responses checked");
  });

  it("echoes Cloudflare's ray id as the request id, and replaces anything else a client sends", async () => {
    const ray = "8f1e2d3c4b5a6978-LHR";
    expect((await call("GET", "/healthz", { headers: { "cf-ray": ray } })).headers.get("x-request-id")).toBe(
      ray,
    );
    for (const hostile of ["<script>alert(1)</script>", "x".repeat(500), "a b", '"},{"admin":true']) {
      const id = (await call("GET", "/healthz", { headers: { "cf-ray": hostile } })).headers.get(
        "x-request-id",
      );
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("writes JSON log lines with the request id, and never a password, a token or a stack", async () => {
    const password = user.password;
    const { lines } = await captureLogs(async () => {
      await call("POST", "/api/auth/login", { body: { email: user.user.email, password } });
      await call("POST", "/api/auth/login", { body: { email: user.user.email, password: "wrong password" } });
      await call("GET", "/api/me", { token: user.token });
      await call("GET", "/api/me", { token: `${user.token}x` });
      await call("GET", "/api/me", { token: user.token, env: { JWT_SECRET: "" } });
      const ip = `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
      for (let i = 0; i < 61; i++)
        await call("POST", "/api/auth/login", {
          rawBody: "{}",
          headers: { "content-type": "application/json", "cf-connecting-ip": ip },
        });
    });
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(typeof entry.level).toBe("string");
      expect(typeof entry.event).toBe("string");
      expect(entry.requestId, line).toEqual(expect.any(String));
      expect(line).not.toContain(password);
      expect(line).not.toContain(user.token.split(".")[2]!);
      expect(line).not.toMatch(STACK);
    }
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(
      expect.arrayContaining(["unhandled_error", "rate_limited"]),
    );
  });
});
