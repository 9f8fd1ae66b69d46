import { Hono } from "hono";
import { tokenSettings } from "../auth/credentials";
import { requireAuth } from "../auth/middleware";
import { dummyHash, hashPassword, verifyPassword } from "../auth/password";
import { enforceLimit, enforceLoginLimits, limitByIp } from "../auth/rate-limit";
import { assertSecret, issueToken } from "../auth/tokens";
import { openDb } from "../db/client";
import { findUserByEmail, findUserById, insertUser, normalizeEmail, toMe } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { newId, nowIso } from "../ids";
import type { AuthResponse, RefreshResponse } from "../protocol/models";
import { requestSchemas } from "../protocol/requests";
import { limitsFrom } from "../config";
import { jsonBody } from "../validation";

const schemas = (c: { env: Env }) => requestSchemas(limitsFrom(c.env));

// Per-IP limits count every attempt, valid or not, before the body is read; per-account limits
// (for logins: per account and source, then an account-wide ceiling) count well-formed attempts
// on one email before any password hashing is done.
export const authRoutes = new Hono<AppEnv>()
  .post(
    "/register",
    async (c, next) => {
      if (c.env.PASSWORD_SIGNUP === "off") {
        throw new ApiError("forbidden", "Sign-up with a password is turned off here");
      }
      await next();
    },
    limitByIp("REGISTER_IP_LIMITER"),
    jsonBody((c) => schemas(c).register),
    async (c) => {
      const body = c.req.valid("json");
      const settings = tokenSettings(c.env);
      assertSecret(settings);
      const email = normalizeEmail(body.email);
      await enforceLimit(c, "REGISTER_ACCOUNT_LIMITER", email);
      const row = {
        id: newId("u"),
        email,
        passwordHash: await hashPassword(body.password, c.get("limits").pbkdf2Iterations),
        firstName: body.firstName,
        lastName: body.lastName,
        avatarUrl: body.avatarUrl ?? null,
        createdAt: nowIso(),
        externalId: null,
        claimsHash: null,
      };
      if (!(await insertUser(openDb(c.env.DB), row))) {
        throw new ApiError("email_taken", "An account with this email already exists");
      }
      const { token } = await issueToken(row.id, settings);
      const response: AuthResponse = { token, user: toMe(row) };
      return c.json(response, 201);
    },
  )
  .post(
    "/login",
    limitByIp("LOGIN_IP_LIMITER"),
    jsonBody((c) => schemas(c).login),
    async (c) => {
      const { email, password } = c.req.valid("json");
      const settings = tokenSettings(c.env);
      assertSecret(settings);
      await enforceLoginLimits(c, normalizeEmail(email));
      const user = await findUserByEmail(openDb(c.env.DB), email);
      // Unknown email and wrong password cost the same work and get the same answer.
      const stored = user?.passwordHash ?? (await dummyHash(c.get("limits").pbkdf2Iterations));
      const ok = await verifyPassword(password, stored);
      if (!user || !ok) throw new ApiError("invalid_credentials", "Email or password is incorrect");
      const { token } = await issueToken(user.id, settings);
      const response: AuthResponse = { token, user: toMe(user) };
      return c.json(response, 200);
    },
  )
  // A still-valid own token gets a fresh one, up to SESSION_MAX_SECONDS after the sign-in it
  // descends from. A provider's token is renewed by the provider (through the host application):
  // renewing it here would outlive a sign-out or a removal there.
  .post("/refresh", requireAuth(), async (c) => {
    const auth = c.get("auth");
    if (auth.source !== "own") {
      throw new ApiError("forbidden", "Tokens of your identity provider are renewed by your application");
    }
    const authTime = auth.authTime ?? 0;
    if (Date.now() / 1000 - authTime > c.get("limits").sessionMaxSeconds) {
      throw new ApiError("unauthorized", "The session is too old to renew; sign in again");
    }
    const user = await findUserById(openDb(c.env.DB), auth.userId);
    if (!user) throw new ApiError("unauthorized", "The account no longer exists");
    const { token, expiresAt } = await issueToken(user.id, tokenSettings(c.env), { authTime });
    const response: RefreshResponse = {
      token,
      user: toMe(user),
      expiresAt: new Date(expiresAt * 1000).toISOString(),
    };
    return c.json(response, 200);
  });
