import { Hono } from "hono";
import { tokenSettings } from "../../auth/credentials";
import { issueToken } from "../../auth/tokens";
import { limitsFrom } from "../../config";
import { openDb } from "../../db/client";
import { findUserByExternalId, normalizeEmail, toMe, toUser, upsertExternalUser } from "../../db/users";
import type { AppEnv } from "../../env";
import { notFound } from "../../errors";
import type { Me, MintedToken } from "../../protocol/models";
import { externalIdSchema, requestSchemas } from "../../protocol/requests";
import { jsonBody, parseOrThrow } from "../../validation";
import { refreshProfileInRooms } from "../../durable/room/profile-sync";

/** The user's id in the host application, from the path: checked like any other input. */
function externalIdOf(c: { env: Env; req: { param(name: "externalId"): string } }): string {
  return parseOrThrow(
    externalIdSchema(limitsFrom(c.env).maxExternalIdChars),
    c.req.param("externalId"),
    "externalId",
  );
}

export const serverUserRoutes = new Hono<AppEnv>()
  // Creates the user on first use (201) or replaces their profile (200). The answer is the full
  // user, email and externalId included: the caller is the host application itself.
  .put(
    "/:externalId",
    jsonBody((c) => requestSchemas(limitsFrom(c.env)).serverUser),
    async (c) => {
      const externalId = externalIdOf(c);
      const body = c.req.valid("json");
      const { user, created } = await upsertExternalUser(openDb(c.env.DB), externalId, {
        firstName: body.firstName,
        lastName: body.lastName,
        avatarUrl: body.avatarUrl ?? null,
        email: body.email ? normalizeEmail(body.email) : null,
      });
      if (!created) c.executionCtx.waitUntil(refreshProfileInRooms(c.env, toUser(user)));
      const response: Me = toMe(user);
      return c.json(response, created ? 201 : 200);
    },
  )
  // A token of this service for the user, as /api/auth/login would give them: the host application
  // hands it to its front end, which uses it like any other (REST, tickets, refresh).
  .post("/:externalId/tokens", async (c) => {
    const externalId = externalIdOf(c);
    const user = await findUserByExternalId(openDb(c.env.DB), externalId);
    // A deleted account gets no token: PUT creates a new one for the id.
    if (!user || user.deletedAt) throw notFound("No user with this externalId; create it with PUT first");
    const { token, expiresAt } = await issueToken(user.id, tokenSettings(c.env));
    const response: MintedToken = { token, expiresAt: new Date(expiresAt * 1000).toISOString() };
    return c.json(response, 200);
  });
