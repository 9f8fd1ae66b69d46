import { describe, expect, it } from "vitest";
import { api } from "../helpers/api";

const ERROR_SHAPE = expect.objectContaining({
  error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
});

describe("errors", () => {
  it("answers malformed JSON with 400 and wrong content type with 400", async () => {
    const res = await api("POST", "/api/auth/register", {
      rawBody: "{nope",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
    const form = await api("POST", "/api/auth/login", {
      rawBody: "a=b",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(400);
  });

  it("answers invalid fields with 422 and one detail per field", async () => {
    const res = await api("POST", "/api/auth/register", {
      body: { email: "not-an-email", password: "short", firstName: "" },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(["email", "firstName", "lastName", "password"]);
  });

  it("answers an oversized body with 413 before parsing it", async () => {
    const res = await api("POST", "/api/auth/login", {
      body: { email: "a@b.c", password: "x".repeat(70_000) },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it("answers unknown routes with a JSON 404, never HTML or a stack", async () => {
    for (const [method, path] of [
      ["GET", "/api/nope"],
      ["POST", "/api/conversations/x/y/z"],
      ["GET", "/api"],
    ] as const) {
      const res = await api(method, path);
      expect([404, 401]).toContain(res.status);
      expect(res.body).toEqual(ERROR_SHAPE);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(res.text).not.toMatch(/<html|at .*\.(ts|js):\d+/i);
    }
  });

  it("serves /healthz without auth", async () => {
    const res = await api("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });
});
