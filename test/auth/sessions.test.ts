import { SignJWT, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/call";
import { TEST_SECRET } from "../helpers/tokens";
import { registerUser } from "../helpers/api";
import { TestIdp, idpToken, newKey, newSub } from "../helpers/idp";

const randomSecret = () =>
  [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** An own token as the service signed them before kids existed (no kid in the header). */
function legacyToken(userId: string, secret: string, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer("edge-chat")
    .setAudience("edge-chat")
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(secret));
}

/** GET /api/me on an instance running with JWT_SECRET = `secret`. */
const me = (token: string, secret: string) => call("GET", "/api/me", { token, env: { JWT_SECRET: secret } });

describe("rotating JWT_SECRET", () => {
  it("signs nobody out: old tokens keep working through every step, new ones are signed with the new secret", async () => {
    const user = await registerUser("Rota", "Tion");
    const before = user.token;
    const beforeKid = decodeProtectedHeader(before).kid;
    expect(beforeKid).toEqual(expect.any(String));
    const legacy = await legacyToken(user.user.id, TEST_SECRET);
    const next = randomSecret();
    const login = async (secret: string) =>
      (
        await call("POST", "/api/auth/login", {
          body: { email: user.user.email, password: user.password },
          env: { JWT_SECRET: secret },
        })
      ).body.token as string;

    // Step 1: the new secret is added second (it verifies, the old one still signs).
    const step1 = `${TEST_SECRET},${next}`;
    for (const token of [before, legacy]) expect((await me(token, step1)).status).toBe(200);
    expect(decodeProtectedHeader(await login(step1)).kid).toBe(beforeKid);

    // Step 2: the new secret signs; tokens of the old one still verify.
    const step2 = `${next},${TEST_SECRET}`;
    const after = await login(step2);
    expect(decodeProtectedHeader(after).kid).not.toBe(beforeKid);
    for (const token of [before, legacy, after]) expect((await me(token, step2)).status).toBe(200);
    // Every instance still on step 1 already accepts the new tokens.
    expect((await me(after, step1)).status).toBe(200);

    // Step 3, after TOKEN_TTL_SECONDS: the old secret goes; only its tokens stop working.
    expect((await me(after, next)).status).toBe(200);
    expect((await me(before, next)).status).toBe(401);
    expect((await me(legacy, next)).status).toBe(401);
  });

  it("refuses the configuration while any of the secrets is weak", async () => {
    const user = await registerUser();
    const res = await call("GET", "/api/me", {
      token: user.token,
      env: { JWT_SECRET: `${TEST_SECRET},short` },
    });
    expect(res.status).toBe(500);
    expect(res.text).not.toContain(TEST_SECRET);
  });
});

describe("POST /api/auth/refresh", () => {
  const idp = new TestIdp();
  beforeAll(() => idp.install());
  afterAll(() => idp.uninstall());

  it("gives a still-valid own token a fresh one for the same user", async () => {
    const user = await registerUser("Fresh", "Token");
    const res = await call("POST", "/api/auth/refresh", { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body.user).toEqual(user.user);
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now());
    expect((await call("GET", "/api/me", { token: res.body.token })).body.id).toBe(user.user.id);
    // The old token is not revoked by a refresh: other tabs holding it keep working until they renew.
    expect((await call("GET", "/api/me", { token: user.token })).status).toBe(200);
  });

  it("refuses expired and foreign tokens, sessions past SESSION_MAX_SECONDS, and the provider's tokens", async () => {
    const user = await registerUser();
    expect((await call("POST", "/api/auth/refresh")).status).toBe(401);
    const old = await legacyToken(user.user.id, TEST_SECRET, {
      auth_time: Math.floor(Date.now() / 1000) - 100,
    });
    expect((await call("POST", "/api/auth/refresh", { token: old })).status).toBe(200);
    const tooOld = await call("POST", "/api/auth/refresh", {
      token: old,
      env: { SESSION_MAX_SECONDS: "60" },
    });
    expect(tooOld.status).toBe(401);
    // A refreshed token keeps the sign-in time it descends from.
    const renewed = (await call("POST", "/api/auth/refresh", { token: old })).body.token as string;
    expect(
      (await call("POST", "/api/auth/refresh", { token: renewed, env: { SESSION_MAX_SECONDS: "60" } }))
        .status,
    ).toBe(401);

    const key = await newKey("ES256");
    idp.publish([key]);
    const external = await idpToken(key, newSub());
    expect((await call("GET", "/api/me", { token: external })).status).toBe(200);
    const refused = await call("POST", "/api/auth/refresh", { token: external });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden");
  });
});

describe("PASSWORD_SIGNUP", () => {
  it("off: registration answers 403, existing accounts still sign in", async () => {
    const user = await registerUser();
    const off = { PASSWORD_SIGNUP: "off" };
    const register = await call("POST", "/api/auth/register", {
      body: {
        email: `new-${crypto.randomUUID()}@example.com`,
        password: "long enough",
        firstName: "N",
        lastName: "O",
      },
      env: off,
    });
    expect(register.status).toBe(403);
    expect(register.body.error.code).toBe("forbidden");
    const login = await call("POST", "/api/auth/login", {
      body: { email: user.user.email, password: user.password },
      env: off,
    });
    expect(login.status).toBe(200);
  });
});
