import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, upgrade } from "../helpers/call";
import { api, registerUser, startConversation } from "../helpers/api";
import { TestIdp, idpToken, newKey, newSub } from "../helpers/idp";

/** The key test/vitest.config.ts configures in SERVER_API_KEYS. */
const KEY = "test-server-key-0123456789abcdefghijklmnop";

const server = (
  method: string,
  path: string,
  options: { body?: unknown; key?: string; env?: Partial<Env> } = {},
) => call(method, `/api/server${path}`, { token: options.key ?? KEY, body: options.body, env: options.env });

describe("server API: users and tokens", () => {
  it("creates a user by external id (201), replaces the profile on the next PUT (200)", async () => {
    const externalId = `host-user-${crypto.randomUUID()}`;
    const created = await server("PUT", `/users/${encodeURIComponent(externalId)}`, {
      body: { firstName: "Margaret", lastName: "Hamilton", email: "Margaret@Example.com" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^u_/),
      firstName: "Margaret",
      lastName: "Hamilton",
      avatarUrl: null,
      email: "margaret@example.com",
      externalId,
    });
    const replaced = await server("PUT", `/users/${encodeURIComponent(externalId)}`, {
      body: { firstName: "Margaret H.", lastName: "Hamilton", avatarUrl: "https://images.example/mh.png" },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      id: created.body.id,
      firstName: "Margaret H.",
      avatarUrl: "https://images.example/mh.png",
      email: null,
    });
  });

  it("mints a token that works on REST, sockets and refresh like any own token", async () => {
    const externalId = "host|42-" + crypto.randomUUID();
    const path = `/users/${encodeURIComponent(externalId)}`;
    const user = (await server("PUT", path, { body: { firstName: "Radia", lastName: "Perlman" } })).body;
    const minted = await server("POST", `${path}/tokens`);
    expect(minted.status).toBe(200);
    expect(Object.keys(minted.body).sort()).toEqual(["expiresAt", "token"]);
    expect(Date.parse(minted.body.expiresAt)).toBeGreaterThan(Date.now());
    const token = minted.body.token as string;
    const me = await api("GET", "/api/me", { token });
    expect(me.body).toEqual(user);
    const other = await registerUser("Vint", "Cerf");
    const { conversation } = await startConversation(token, [other.user.id], { body: "Spanning tree" });
    expect((await upgrade(`/api/conversations/${conversation.id}/ws`, { token })).status).toBe(101);
    expect((await call("POST", "/api/auth/refresh", { token })).status).toBe(200);
  });

  it("is the same user when they later arrive with the identity provider's token", async () => {
    const idp = new TestIdp();
    const key = await newKey("RS256");
    idp.publish([key]);
    idp.install();
    try {
      const sub = newSub("google-oauth2|");
      const put = await server("PUT", `/users/${encodeURIComponent(sub)}`, {
        body: { firstName: "Frances", lastName: "Allen" },
      });
      const me = await call("GET", "/api/me", { token: await idpToken(key, sub, { given_name: "Fran" }) });
      expect(me.body).toMatchObject({
        id: put.body.id,
        externalId: sub,
        firstName: "Fran",
        lastName: "Allen",
      });
    } finally {
      idp.uninstall();
    }
  });

  it("does not touch an own account that has the same email", async () => {
    const own = await registerUser("Barbara", "Liskov");
    const res = await server("PUT", `/users/liskov-${crypto.randomUUID()}`, {
      body: { firstName: "Other", lastName: "Barbara", email: own.user.email },
    });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(own.user.id);
    const login = await api("POST", "/api/auth/login", {
      body: { email: own.user.email, password: own.password },
    });
    expect(login.body.user).toMatchObject({ id: own.user.id, firstName: "Barbara", lastName: "Liskov" });
  });

  it("validates the external id and the body (422), and knows only created users (404)", async () => {
    for (const bad of ["a%00b", "x".repeat(256)]) {
      const res = await server("PUT", `/users/${bad}`, { body: { firstName: "A", lastName: "B" } });
      expect(res.status, bad).toBe(422);
    }
    const noName = await server("PUT", "/users/someone", { body: { lastName: "B" } });
    expect(noName.status).toBe(422);
    const script = await server("PUT", "/users/someone", {
      body: { firstName: "A", lastName: "B", avatarUrl: "javascript:alert(1)" },
    });
    expect(script.status).toBe(422);
    expect((await server("POST", `/users/nobody-${crypto.randomUUID()}/tokens`)).status).toBe(404);
  });
});

describe("server API keys", () => {
  const idp = new TestIdp();
  beforeAll(() => idp.install());
  afterAll(() => idp.uninstall());

  it("refuses a user token with 403, and a missing or wrong key with 401", async () => {
    const user = await registerUser();
    const signing = await newKey("EdDSA");
    idp.publish([signing]);
    const external = await idpToken(signing, newSub());
    for (const token of [user.token, external]) {
      for (const [method, path, body] of [
        ["PUT", "/users/x", { firstName: "A", lastName: "B" }],
        ["POST", "/users/x/tokens", undefined],
      ] as const) {
        const res = await server(method, path, { key: token, body });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error.code).toBe("forbidden");
      }
    }
    for (const key of [undefined, "", "wrong-key-0123456789abcdefghijklmnopq", `${KEY}x`, KEY.slice(0, -1)]) {
      const res = await call("PUT", "/api/server/users/x", {
        token: key,
        body: { firstName: "A", lastName: "B" },
      });
      expect(res.status, String(key)).toBe(401);
    }
    const basic = await call("PUT", "/api/server/users/x", {
      headers: { authorization: `Basic ${btoa(`user:${KEY}`)}` },
      body: { firstName: "A", lastName: "B" },
    });
    expect(basic.status).toBe(401);
  });

  it("is never accepted on user routes", async () => {
    const user = await registerUser();
    const { conversation } = await startConversation(user.token, [(await registerUser()).user.id]);
    for (const [method, path] of [
      ["GET", "/api/me"],
      ["GET", "/api/conversations"],
      ["GET", `/api/conversations/${conversation.id}/messages`],
      ["POST", "/api/ws-ticket"],
      ["POST", "/api/auth/refresh"],
    ] as const) {
      expect((await call(method, path, { token: KEY })).status, path).toBe(401);
    }
    for (const path of ["/api/inbox/ws", `/api/conversations/${conversation.id}/ws`]) {
      expect((await upgrade(path, { token: KEY })).status, path).toBe(401);
    }
  });

  it("accepts every configured key while rotating", async () => {
    const next = "next-server-key-abcdefghijklmnopqrstuvwxyz";
    const both = { SERVER_API_KEYS: `${next},${KEY}` };
    for (const key of [KEY, next]) {
      const res = await server("PUT", `/users/rotating-${crypto.randomUUID()}`, {
        key,
        body: { firstName: "K", lastName: "R" },
        env: both,
      });
      expect(res.status).toBe(201);
    }
    const retired = await server("PUT", "/users/rotating", {
      body: { firstName: "K", lastName: "R" },
      env: { SERVER_API_KEYS: next },
    });
    expect(retired.status).toBe(401);
  });

  it("is off without keys (503 unavailable, whatever the caller sends), and refuses to run with a short key", async () => {
    for (const env of [{ SERVER_API_KEYS: "" }, { SERVER_API_KEYS: undefined }, { SERVER_API_KEYS: " , " }]) {
      const off = await server("PUT", "/users/x", { body: { firstName: "A", lastName: "B" }, env });
      expect(off.status).toBe(503);
      expect(off.body.error.code).toBe("unavailable");
    }
    const weak = await server("PUT", "/users/x", {
      key: "short",
      body: { firstName: "A", lastName: "B" },
      env: { SERVER_API_KEYS: "short" },
    });
    expect(weak.status).toBe(500);
    expect(weak.text).not.toContain("short");
  });
});
