import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { authenticate } from "./credentials";
import { redeemSocketTicket } from "./tickets";

/** RFC 6750's b64token: JWTs, and the server API's keys. */
export const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/;

/** The bearer credential of the Authorization header; undefined without one, 401 when malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const token = BEARER.exec(header.trim())?.[1];
  if (!token) throw new ApiError("unauthorized", "Authorization must be `Bearer <token>`");
  return token;
}

/**
 * Verifies the caller's token (this service's own, or the identity provider's) and puts the verified
 * caller on the context as `auth`. With `allowQueryCredentials` (the /ws routes: browsers cannot set
 * headers on a WebSocket) a single-use `?ticket=` is accepted, and so is `?access_token=`.
 */
export const requireAuth = (options: { allowQueryCredentials?: boolean } = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    let token = bearerToken(c.req.header("authorization"));
    if (token === undefined && options.allowQueryCredentials) {
      const ticket = c.req.query("ticket");
      if (ticket) {
        c.set("auth", await redeemSocketTicket(c.env, ticket));
        return next();
      }
      token = c.req.query("access_token") || undefined;
    }
    if (!token) throw new ApiError("unauthorized", "An access token is required");
    c.set("auth", await authenticate(c, token));
    await next();
  });
