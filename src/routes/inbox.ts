import { Hono } from "hono";
import { requireAuth } from "../auth/middleware";
import type { AppEnv } from "../env";
import { forwardUpgrade, webSocketGuard } from "./websocket";

export const inboxRoutes = new Hono<AppEnv>().get(
  "/ws",
  webSocketGuard,
  requireAuth({ allowQueryCredentials: true }),
  (c) => forwardUpgrade(c, c.env.USER_INBOX.getByName(c.get("auth").userId)),
);
