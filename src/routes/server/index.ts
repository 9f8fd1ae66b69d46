import { Hono } from "hono";
import { requireServerKey } from "../../auth/server-keys";
import type { AppEnv } from "../../env";
import { serverConversationRoutes } from "./conversations";
import { serverUserRoutes } from "./users";

/**
 * The server API (/api/server/*): the host application's backend, authenticated with a key from
 * SERVER_API_KEYS, acting on behalf of its users. Every route here is behind the key; none of them
 * takes a user token (403), and a key opens no other route. Not offered to browsers (no CORS).
 */
export const serverRoutes = new Hono<AppEnv>()
  .use(requireServerKey())
  .route("/users", serverUserRoutes)
  .route("/conversations", serverConversationRoutes);
