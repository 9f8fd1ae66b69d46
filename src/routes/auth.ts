import { Hono } from "hono";
import { tokenSettings } from "../auth/middleware";
import { dummyHash, hashPassword, verifyPassword } from "../auth/password";
import { enforceLimit, enforceLoginLimits, limitByIp } from "../auth/rate-limit";
import { assertSecret, issueToken } from "../auth/tokens";
import { openDb } from "../db/client";
import { findUserByEmail, insertUser, normalizeEmail, toMe } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { newId, nowIso } from "../ids";
import type { AuthResponse } from "../protocol/models";
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
      };
      if (!(await insertUser(openDb(c.env.DB), row))) {
        throw new ApiError("email_taken", "An account with this email already exists");
      }
      const response: AuthResponse = { token: await issueToken(row.id, settings), user: toMe(row) };
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
      const response: AuthResponse = { token: await issueToken(user.id, settings), user: toMe(user) };
      return c.json(response, 200);
    },
  );
