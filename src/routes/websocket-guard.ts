import type { Context } from "hono";
import { allowedOrigins } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * The checks every /ws route makes before anything is upgraded: a real upgrade request (426), and
 * a browser Origin that is this site or one of ALLOWED_ORIGINS (cross-site WebSocket hijacking).
 * Clients that are not browsers send no Origin and are judged by their token alone.
 */
export function assertWebSocketRequest(c: Context<AppEnv>): void {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "This route only accepts WebSocket upgrades");
  }
  const origin = c.req.header("origin");
  if (origin === undefined || origin === new URL(c.req.url).origin) return;
  if (!allowedOrigins(c.env).has(origin))
    throw new ApiError("forbidden", "This Origin may not open chat sockets");
}
