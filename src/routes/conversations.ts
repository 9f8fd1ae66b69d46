import { Hono } from "hono";
import { requireAuth } from "../auth/middleware";
import { limitsFrom } from "../config";
import { openDb } from "../db/client";
import { createGroup, decodeCursor, findOrCreateDirect, listInbox } from "../db/conversations";
import { findUsersByIds } from "../db/users";
import { ROOM_HEADERS } from "../durable/conversation-room";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { newId, nowIso } from "../ids";
import type { User } from "../protocol/models";
import { requestSchemas } from "../protocol/requests";
import { jsonBody, queryOf } from "../validation";
import { callRoom, isConversationId, roomOf } from "./rooms";
import { assertWebSocketRequest } from "./websocket-guard";

const schemas = (c: { env: Env }) => requestSchemas(limitsFrom(c.env));

/** Looks up every id; a missing one is a 422 naming it (the body is well-formed but wrong). */
async function requireUsers(env: Env, ids: string[], path: string): Promise<User[]> {
  const found = await findUsersByIds(openDb(env.DB), ids);
  const known = new Set(found.map((u) => u.id));
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length > 0) {
    throw new ApiError("validation_failed", "Unknown users", {
      details: missing.slice(0, 20).map((id) => ({ path, message: `unknown user ${id}` })),
    });
  }
  return found;
}

export const conversationRoutes = new Hono<AppEnv>()
  // The WebSocket route checks the upgrade and Origin before the token (which may be in the query).
  .get(
    "/:id/ws",
    async (c, next) => {
      assertWebSocketRequest(c);
      await next();
    },
    requireAuth({ allowQueryCredentials: true }),
    async (c) => {
      const id = c.req.param("id");
      if (!isConversationId(id)) throw notFound("Conversation not found");
      const { userId, expiresAt } = c.get("auth");
      const url = new URL("https://room/ws");
      const since = c.req.query("since");
      if (since !== undefined) url.searchParams.set("since", since);
      if (c.req.query("batch") === "1") url.searchParams.set("batch", "1");
      const headers = new Headers({ upgrade: "websocket" });
      headers.set(ROOM_HEADERS.conversationId, id);
      headers.set(ROOM_HEADERS.userId, userId);
      headers.set(ROOM_HEADERS.tokenExp, String(expiresAt));
      return roomOf(c.env, id).fetch(new Request(url, { headers }));
    },
  )
  .use(requireAuth())
  .use("/:id/*", async (c, next) => {
    if (!isConversationId(c.req.param("id") ?? "")) throw notFound("Conversation not found");
    await next();
  })
  .get(
    "/",
    queryOf((c) => schemas(c).inboxQuery),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const decoded = cursor === undefined ? null : decodeCursor(cursor);
      if (cursor !== undefined && !decoded) {
        throw new ApiError("validation_failed", "Query is invalid", {
          details: [{ path: "cursor", message: "unknown cursor" }],
        });
      }
      return c.json(await listInbox(openDb(c.env.DB), c.get("auth").userId, limit, decoded));
    },
  )
  .post(
    "/",
    jsonBody((c) => schemas(c).createConversation),
    async (c) => {
      const body = c.req.valid("json");
      const me = c.get("auth").userId;
      const others = [...new Set(body.participantIds)].filter((id) => id !== me);
      if (others.length === 0) {
        throw new ApiError("validation_failed", "A conversation needs at least one other participant", {
          details: [{ path: "participantIds", message: "must name someone other than yourself" }],
        });
      }
      const maxGroup = c.get("limits").maxGroupSize;
      if (others.length + 1 > maxGroup) {
        throw new ApiError("validation_failed", `A conversation has at most ${maxGroup} participants`, {
          details: [{ path: "participantIds", message: "too many participants" }],
        });
      }
      await requireUsers(c.env, others, "participantIds");
      const db = openDb(c.env.DB);
      const now = nowIso();
      let id: string;
      let created: boolean;
      const [onlyOther] = others;
      if (others.length === 1 && onlyOther !== undefined && body.title === undefined) {
        ({ id, created } = await findOrCreateDirect(db, me, onlyOther, newId("c"), now));
      } else {
        id = newId("c");
        created = true;
        await createGroup(db, id, me, [me, ...others], body.title ?? null, now);
      }
      const caller = { conversationId: id, userId: me };
      const room = roomOf(c.env, id);
      const result =
        body.body === undefined
          ? undefined
          : await callRoom(() =>
              room.send(caller, { body: body.body ?? "", clientId: body.clientId }, { awaitMirror: true }),
            );
      if (created)
        c.executionCtx.waitUntil(
          callRoom(() => room.announce(caller, [me, ...others])).catch(() => undefined),
        );
      const conversation = await callRoom(() => room.view(caller));
      return c.json(
        result ? { conversation, message: result.message } : { conversation },
        created ? 201 : 200,
      );
    },
  )
  .get("/:id", async (c) => {
    const id = c.req.param("id");
    return c.json(
      await callRoom(() => roomOf(c.env, id).view({ conversationId: id, userId: c.get("auth").userId })),
    );
  })
  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    await callRoom(() =>
      roomOf(c.env, id).removeFromInbox({ conversationId: id, userId: c.get("auth").userId }),
    );
    return c.body(null, 204);
  })
  .post(
    "/:id/participants",
    jsonBody((c) => schemas(c).addParticipants),
    async (c) => {
      const id = c.req.param("id");
      const caller = { conversationId: id, userId: c.get("auth").userId };
      const room = roomOf(c.env, id);
      // Membership first, so a non-participant learns nothing about which user ids exist.
      await callRoom(() => room.view(caller));
      const ids = [...new Set(c.req.valid("json").userIds)];
      const users = await requireUsers(c.env, ids, "userIds");
      return c.json(await callRoom(() => room.addMembers(caller, users)));
    },
  )
  .get(
    "/:id/messages",
    queryOf((c) => schemas(c).historyQuery),
    async (c) => {
      const id = c.req.param("id");
      const q = c.req.valid("query");
      const page = await callRoom(() =>
        roomOf(c.env, id).history({ conversationId: id, userId: c.get("auth").userId }, q),
      );
      return c.json(page);
    },
  )
  .post(
    "/:id/messages",
    jsonBody((c) => schemas(c).sendMessage),
    async (c) => {
      const id = c.req.param("id");
      const { body, clientId } = c.req.valid("json");
      const result = await callRoom(() =>
        roomOf(c.env, id).send(
          { conversationId: id, userId: c.get("auth").userId },
          { body, clientId },
          { awaitMirror: true },
        ),
      );
      return c.json({ message: result.message }, result.created ? 201 : 200);
    },
  )
  .patch(
    "/:id/messages/:messageId",
    jsonBody((c) => schemas(c).editMessage),
    async (c) => {
      const id = c.req.param("id");
      const message = await callRoom(() =>
        roomOf(c.env, id).edit(
          { conversationId: id, userId: c.get("auth").userId },
          c.req.param("messageId"),
          c.req.valid("json").body,
        ),
      );
      return c.json({ message });
    },
  )
  .delete("/:id/messages/:messageId", async (c) => {
    const id = c.req.param("id");
    await callRoom(() =>
      roomOf(c.env, id).remove(
        { conversationId: id, userId: c.get("auth").userId },
        c.req.param("messageId"),
      ),
    );
    return c.body(null, 204);
  })
  .post(
    "/:id/read",
    jsonBody((c) => schemas(c).markRead),
    async (c) => {
      const id = c.req.param("id");
      await callRoom(() =>
        roomOf(c.env, id).markRead(
          { conversationId: id, userId: c.get("auth").userId },
          c.req.valid("json").seq,
        ),
      );
      return c.body(null, 204);
    },
  );
