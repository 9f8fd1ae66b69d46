import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { allowedOrigins } from "../config";
import { UPGRADE_HEADERS } from "../durable/sockets";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * The checks every /ws route makes before anything is upgraded, and before the token (which may
 * be in the query): a real upgrade request (426), and a browser Origin that is this site or one of
 * ALLOWED_ORIGINS (cross-site WebSocket hijacking). Clients that are not browsers send no Origin
 * and are judged by their token alone.
 */
export const webSocketGuard = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "This route only accepts WebSocket upgrades");
  }
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== new URL(c.req.url).origin && !allowedOrigins(c.env).has(origin)) {
    throw new ApiError("forbidden", "This Origin may not open chat sockets");
  }
  await next();
});

/**
 * Hands a checked, authenticated upgrade to a Durable Object: the verified caller travels in
 * headers only the Worker can set (UPGRADE_HEADERS), with the query parameters the object reads.
 */
export function forwardUpgrade(
  c: Context<AppEnv>,
  target: { fetch(request: Request): Promise<Response> },
  query: Record<string, string | undefined> = {},
): Promise<Response> {
  const { userId, expiresAt } = c.get("auth");
  const url = new URL("https://object/ws");
  for (const [name, value] of Object.entries(query))
    if (value !== undefined) url.searchParams.set(name, value);
  const headers = new Headers({ upgrade: "websocket" });
  headers.set(UPGRADE_HEADERS.userId, userId);
  headers.set(UPGRADE_HEADERS.tokenExp, String(expiresAt));
  return target.fetch(new Request(url, { headers }));
}
