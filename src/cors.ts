import { createMiddleware } from "hono/factory";
import { allowedOrigins } from "./config";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";

/**
 * CORS for the REST API: the origins in ALLOWED_ORIGINS may call it from a browser. Tokens travel in
 * the Authorization header, never in cookies, so credentials are not allowed and no origin can
 * ride on a signed-in browser. A preflight from any other origin is refused with 403, and its
 * actual requests get no Access-Control-Allow-Origin, so the browser hides the answer. The server
 * API is not offered to browsers at all: its keys belong on servers.
 */

const METHODS = "GET, POST, PUT, PATCH, DELETE";
const HEADERS = "authorization, content-type";
const EXPOSED = "retry-after, x-request-id";

export const cors = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header("origin");
    const path = new URL(c.req.url).pathname;
    if (origin === undefined || path.startsWith("/api/server/") || path === "/api/server") return next();
    const allowed = allowedOrigins(c.env).has(origin);
    const preflight =
      c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
    if (preflight) {
      if (!allowed) throw new ApiError("forbidden", "This origin may not call the API");
      return c.body(null, 204, {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": METHODS,
        "access-control-allow-headers": HEADERS,
        "access-control-max-age": String(c.get("limits").corsMaxAgeSeconds),
        vary: "Origin",
      });
    }
    await next();
    // A 101 carries the object's WebSocket (sockets are guarded by Origin, not CORS).
    if (c.res.status === 101) return;
    c.header("vary", "Origin", { append: true });
    if (!allowed) return;
    c.header("access-control-allow-origin", origin);
    c.header("access-control-expose-headers", EXPOSED);
  });
