import { describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { api, registerUser } from "../helpers/api";

const ERROR_SHAPE = expect.objectContaining({
  error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
});

describe("accounts and tokens", () => {
  it("registers, logs in and reads /api/me", async () => {
    const email = `grace.${crypto.randomUUID()}@example.com`;
    const reg = await api("POST", "/api/auth/register", {
      body: { email, password: "hopper-1906", firstName: "Grace", lastName: "Hopper" },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({ email, firstName: "Grace", lastName: "Hopper", avatarUrl: null });
    expect(reg.body.user.id).toMatch(/^u_/);
    expect(JSON.stringify(reg.body)).not.toMatch(/password/i);

    const login = await api("POST", "/api/auth/login", {
      body: { email: email.toUpperCase(), password: "hopper-1906" },
    });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(reg.body.user.id);

    const me = await api("GET", "/api/me", { token: login.body.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(reg.body.user);
  });

  it("refuses a second account with the same email (409 email_taken)", async () => {
    const a = await registerUser("Alan", "Turing");
    const again = await api("POST", "/api/auth/register", {
      body: { email: a.user.email, password: "whatever-123", firstName: "X", lastName: "Y" },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("email_taken");
  });

  it("answers a wrong password and an unknown email the same way", async () => {
    const a = await registerUser();
    const wrong = await api("POST", "/api/auth/login", {
      body: { email: a.user.email, password: "not-the-password" },
    });
    const unknown = await api("POST", "/api/auth/login", {
      body: { email: "nobody@example.com", password: "not-the-password" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe("invalid_credentials");
  });

  it("updates the profile with PATCH /api/me", async () => {
    const a = await registerUser();
    const res = await api("PATCH", "/api/me", {
      token: a.token,
      body: { firstName: "Augusta", avatarUrl: "https://example.com/a.png" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      firstName: "Augusta",
      lastName: "Lovelace",
      avatarUrl: "https://example.com/a.png",
    });
    const bad = await api("PATCH", "/api/me", { token: a.token, body: { avatarUrl: "javascript:alert(1)" } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe("avatarUrl");
  });

  it("finds users by name prefix, without the caller, and looks one up", async () => {
    const tag = crypto.randomUUID().slice(0, 6);
    const me = await registerUser(`Zed${tag}`, "Caller");
    const other = await registerUser(`Zed${tag}`, "Other");
    const res = await api("GET", `/api/users?q=zed${tag}`, { token: me.token });
    expect(res.status).toBe(200);
    expect(res.body.users.map((u: { id: string }) => u.id)).toEqual([other.user.id]);
    expect(res.body.users[0].email).toBeUndefined();
    const one = await api("GET", `/api/users/${other.user.id}`, { token: me.token });
    expect(one.body).toEqual({
      id: other.user.id,
      firstName: `Zed${tag}`,
      lastName: "Other",
      avatarUrl: null,
    });
    expect((await api("GET", "/api/users/u_missing", { token: me.token })).status).toBe(404);
  });
});

describe("token checks", () => {
  it("rejects missing, malformed, tampered, expired and alg:none tokens with 401", async () => {
    const a = await registerUser();
    const [h, p, s] = a.token.split(".");
    const payload = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    const b64 = (o: unknown) =>
      btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const tampered = `${h}.${b64({ ...payload, sub: "u_someoneelse" })}.${s}`;
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(a.user.id)
      .setIssuer("edge-chat")
      .setAudience("edge-chat")
      .setIssuedAt(1_600_000_000)
      .setExpirationTime(1_600_000_100)
      .sign(new TextEncoder().encode("test-secret-that-is-long-enough-0123456789"));
    const otherKey = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(a.user.id)
      .setIssuer("edge-chat")
      .setAudience("edge-chat")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("another-secret-that-is-long-enough-000000"));
    for (const auth of [
      undefined,
      "Bearer",
      "Basic abc",
      `Bearer ${tampered}`,
      `Bearer ${none}`,
      `Bearer ${expired}`,
      `Bearer ${otherKey}`,
    ]) {
      const res = await api("GET", "/api/me", { headers: auth ? { authorization: auth } : {} });
      expect(res.status, String(auth)).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
  });
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
