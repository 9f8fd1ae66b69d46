import { createMiddleware } from "hono/factory";
import { limitsFrom } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { type TokenSettings, verifyToken } from "./tokens";

export function tokenSettings(env: Env): TokenSettings {
  return {
    secret: env.JWT_SECRET,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    ttlSeconds: limitsFrom(env).tokenTtlSeconds,
  };
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.]+)$/;

/**
 * Verifies the caller's token and puts `{ userId, expiresAt }` on the context as `auth`.
 * With `allowQueryToken`, `?access_token=` is accepted too: browsers cannot set headers on a WebSocket.
 */
export const requireAuth = (options: { allowQueryToken?: boolean } = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    let token: string | undefined;
    if (header !== undefined) {
      token = BEARER.exec(header.trim())?.[1];
      if (!token) throw new ApiError("unauthorized", "Authorization must be `Bearer <token>`");
    } else if (options.allowQueryToken) {
      token = c.req.query("access_token") || undefined;
    }
    if (!token) throw new ApiError("unauthorized", "An access token is required");
    c.set("auth", await verifyToken(token, tokenSettings(c.env)));
    await next();
  });
