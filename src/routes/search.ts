import { Hono } from "hono";
import { requireAuth } from "../auth/middleware";
import { limitsFrom } from "../config";
import type { AppEnv } from "../env";
import { searchQuerySchema } from "../protocol/search";
import { searchMessages } from "../search/search";
import { queryOf } from "../validation";

/** `GET /api/search`: full-text search of the caller's conversations (src/search/search.ts). */
export const searchRoutes = new Hono<AppEnv>().use(requireAuth()).get(
  "/",
  queryOf((c) => searchQuerySchema(limitsFrom(c.env))),
  async (c) =>
    c.json(await searchMessages(c.env, c.get("limits"), c.get("auth").userId, c.req.valid("query"))),
);
