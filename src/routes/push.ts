import { Hono } from "hono";
import { requireAuth } from "../auth/middleware";
import { limitsFrom } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { log } from "../log";
import { pushRequestSchemas } from "../protocol/push";
import { vapidFrom } from "../push/vapid";
import { jsonBody } from "../validation";

/**
 * Web Push subscriptions (API.md, "Notifications to people who are away"). They are per user and
 * kept by the user's inbox object, which also decides and sends the pushes.
 */
export const pushRoutes = new Hono<AppEnv>()
  .use(requireAuth())
  // Without VAPID keys push is off: every push route says so, and nothing else is affected.
  .use(async (c, next) => {
    const vapid = vapidFrom(c.env);
    if (!vapid.ok) {
      log("warn", "push_not_configured", { requestId: c.get("requestId"), problem: vapid.problem });
      throw new ApiError("unavailable", "Push notifications are not configured on this server");
    }
    await next();
  })
  .get("/vapid-public-key", (c) => {
    const vapid = vapidFrom(c.env);
    return c.json({ key: vapid.ok ? vapid.vapid.publicKey : "" });
  })
  .post(
    "/subscriptions",
    jsonBody((c) => pushRequestSchemas(limitsFrom(c.env)).subscribe),
    async (c) => {
      const sub = c.req.valid("json");
      await c.env.USER_INBOX.getByName(c.get("auth").userId).savePushSubscription(sub);
      return c.json({ endpoint: sub.endpoint }, 201);
    },
  )
  .delete(
    "/subscriptions",
    jsonBody((c) => pushRequestSchemas(limitsFrom(c.env)).unsubscribe),
    async (c) => {
      await c.env.USER_INBOX.getByName(c.get("auth").userId).deletePushSubscription(
        c.req.valid("json").endpoint,
      );
      return c.body(null, 204);
    },
  );
