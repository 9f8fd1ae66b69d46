import { Hono } from "hono";
import * as z from "zod";
import { requireAuth } from "../auth/middleware";
import { type Limits, limitsFrom } from "../config";
import { openDb } from "../db/client";
import { findUserById, searchUsers, toMe, toUser, updateUser } from "../db/users";
import { spendBudget } from "../durable/inbox/budget-client";
import type { AppEnv } from "../env";
import { block, blockedBy, unblock } from "../db/blocks";
import { ApiError, notFound } from "../errors";
import { requestSchemas } from "../protocol/requests";
import type { BlockList } from "../protocol/responses";
import { jsonBody, queryOf } from "../validation";
import { refreshProfileInRooms } from "../durable/room/profile-sync";
import { deleteAccount } from "../account/delete";
import { exportUserData } from "../account/export";

/** GET /api/users: also documented in the OpenAPI document (src/openapi/schemas.ts). */
export const searchQuery = (limits: Limits) =>
  z.object({
    q: z
      .string()
      .trim()
      .max(limits.userSearchMaxChars, `q must be at most ${limits.userSearchMaxChars} characters`)
      .default(""),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(limits.userSearchPageMax)
      .default(Math.min(20, limits.userSearchPageMax)),
  });

export const userRoutes = new Hono<AppEnv>()
  .use("/me", requireAuth())
  .use("/me/*", requireAuth())
  .use("/users/*", requireAuth())
  .use("/users", requireAuth())
  .get("/me", async (c) => {
    const user = await findUserById(openDb(c.env.DB), c.get("auth").userId);
    if (!user) throw notFound("User not found");
    return c.json(toMe(user));
  })
  .patch(
    "/me",
    jsonBody((c) => requestSchemas(limitsFrom(c.env)).updateMe),
    async (c) => {
      const patch = c.req.valid("json");
      const { userId } = c.get("auth");
      const changes = Object.keys(patch).length > 0;
      // Each change reaches every room of the user: throttled (USER_PROFILE_UPDATES_PER_HOUR).
      if (changes) await spendBudget(c.env, userId, "profileUpdates", 1);
      const user = await updateUser(openDb(c.env.DB), userId, patch);
      if (!user) throw notFound("User not found");
      // One call: the user's inbox passes it on to the rooms in batches (inbox/profile-sync.ts).
      if (changes) await refreshProfileInRooms(c.env, user);
      return c.json(toMe(user));
    },
  )
  // API.md, "Your data": the caller's account goes, after a password or a recent sign-in (204).
  .delete(
    "/me",
    jsonBody((c) => requestSchemas(limitsFrom(c.env)).deleteMe),
    async (c) => {
      await deleteAccount(c, c.req.valid("json").password);
      return c.body(null, 204);
    },
  )
  .get(
    "/users",
    queryOf((c) => searchQuery(limitsFrom(c.env))),
    async (c) => {
      const { q, limit } = c.req.valid("query");
      const users = await searchUsers(openDb(c.env.DB), q, c.get("auth").userId, limit);
      return c.json({ users });
    },
  )
  // API.md, "Your data": everything kept about the caller, as one JSON document to save.
  .get("/me/export", async (c) => {
    const data = await exportUserData(c.env, c.get("auth").userId, c.get("limits"));
    return c.json(data, 200, { "content-disposition": 'attachment; filename="chat-export.json"' });
  })
  .get("/me/blocks", async (c) => {
    return c.json({ users: await blockedBy(openDb(c.env.DB), c.get("auth").userId) } satisfies BlockList);
  })
  // Blocking is told to nobody: the blocked person only finds they cannot start a conversation with
  // the blocker or add them to a group (the answer an unknown user gets).
  .post("/users/:id/block", async (c) => {
    const me = c.get("auth").userId;
    const db = openDb(c.env.DB);
    const target = c.req.param("id");
    if (target === me) throw new ApiError("validation_failed", "You cannot block yourself");
    if (!(await findUserById(db, target))) throw notFound("User not found");
    await block(db, me, target);
    return c.body(null, 204);
  })
  .delete("/users/:id/block", async (c) => {
    await unblock(openDb(c.env.DB), c.get("auth").userId, c.req.param("id"));
    return c.body(null, 204);
  })
  .get("/users/:id", async (c) => {
    const user = await findUserById(openDb(c.env.DB), c.req.param("id"));
    if (!user) throw notFound("User not found");
    return c.json(toUser(user));
  });
