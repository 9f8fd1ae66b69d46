import type { Context } from "hono";
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
  if (origin === undefined) return;
  const allowed = new Set(
    c.env.ALLOWED_ORIGINS.split(",")
      .map((o) => o.trim())
      .filter(Boolean),
  );
  allowed.add(new URL(c.req.url).origin);
  if (!allowed.has(origin)) throw new ApiError("forbidden", "This Origin may not open chat sockets");
}
