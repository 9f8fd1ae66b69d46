import { Hono } from "hono";
import { requireAuth } from "../auth/middleware";
import { INBOX_HEADERS } from "../durable/user-inbox";
import type { AppEnv } from "../env";
import { assertWebSocketRequest } from "./websocket-guard";

export const inboxRoutes = new Hono<AppEnv>().get(
  "/ws",
  async (c, next) => {
    assertWebSocketRequest(c);
    await next();
  },
  requireAuth({ allowQueryCredentials: true }),
  async (c) => {
    const { userId, expiresAt } = c.get("auth");
    const headers = new Headers({ upgrade: "websocket" });
    headers.set(INBOX_HEADERS.userId, userId);
    headers.set(INBOX_HEADERS.tokenExp, String(expiresAt));
    return c.env.USER_INBOX.getByName(userId).fetch(new Request("https://inbox/ws", { headers }));
  },
);
