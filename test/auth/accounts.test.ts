import { describe, expect, it } from "vitest";
import { api, registerUser } from "../helpers/api";

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
