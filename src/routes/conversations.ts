import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { requireAuth } from "../auth/middleware";
import { limitsFrom } from "../config";
import { decodeCursor } from "../durable/inbox/cursor";
import { type RoomStub, callRoom, isConversationId, roomOf } from "../durable/room/stub";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { EMOJI_RULE, isReactionEmoji } from "../protocol/emoji";
import { requestSchemas } from "../protocol/requests";
import type { MessageResponse } from "../protocol/responses";
import { addablePeople, createConversation } from "./create-conversation";
import { jsonBody, queryOf } from "../validation";
import { serveAttachment, uploadAttachment } from "./attachments";
import { forwardUpgrade, webSocketGuard } from "./websocket";

const schemas = (c: { env: Env }) => requestSchemas(limitsFrom(c.env));

/** The conversation a `/:id` route acts on, and who asks: resolved once, by `oneConversation`. */
interface RoomEnv extends AppEnv {
  Variables: AppEnv["Variables"] & { room: { stub: RoomStub; userId: string; conversationId: string } };
}

/** An id that cannot exist is the 404 of a conversation that does not; no object is made for it. */
function conversationIdOf(id: string | undefined): string {
  if (id === undefined || !isConversationId(id)) throw notFound("Conversation not found");
  return id;
}

/** The `:emoji` of a reaction route (decoded by the router): one emoji or a short name, else 422. */
function emojiOf(value: string): string {
  if (!isReactionEmoji(value)) {
    throw new ApiError("validation_failed", "emoji is invalid", {
      details: [{ path: "emoji", message: EMOJI_RULE }],
    });
  }
  return value;
}

/** Resolves `/:id` once: the caller and the conversation's room. */
const oneConversation = createMiddleware<RoomEnv>(async (c, next) => {
  const id = conversationIdOf(c.req.param("id"));
  c.set("room", { stub: roomOf(c.env, id), userId: c.get("auth").userId, conversationId: id });
  await next();
});

/** The routes of one conversation, mounted at `/:id` behind `oneConversation`. */
const conversation = new Hono<RoomEnv>()
  .use(oneConversation)
  .get("/", async (c) => {
    const { stub, userId } = c.var.room;
    return c.json(await callRoom(stub.view(userId)));
  })
  .patch(
    "/",
    jsonBody((c) => schemas(c).renameConversation),
    async (c) => {
      const { stub, userId } = c.var.room;
      return c.json(await callRoom(stub.rename(userId, c.req.valid("json").title)));
    },
  )
  .delete("/", async (c) => {
    const { stub, userId } = c.var.room;
    await callRoom(stub.removeFromInbox(userId));
    return c.body(null, 204);
  })
  .patch(
    "/settings",
    jsonBody((c) => schemas(c).conversationSettings),
    async (c) => {
      const { stub, userId } = c.var.room;
      return c.json(await callRoom(stub.setMuted(userId, c.req.valid("json").muted)));
    },
  )
  .delete("/participants/:userId", async (c) => {
    const { stub, userId } = c.var.room;
    await callRoom(stub.removeMember(userId, c.req.param("userId")));
    return c.body(null, 204);
  })
  .post(
    "/participants",
    jsonBody((c) => schemas(c).addParticipants),
    async (c) => {
      const { stub, userId } = c.var.room;
      // Membership first, so a non-participant learns nothing about which user ids exist.
      await callRoom(stub.view(userId));
      const ids = [...new Set(c.req.valid("json").userIds)];
      const found = await addablePeople(c.env, userId, ids, "userIds");
      return c.json(await callRoom(stub.addMembers(userId, [...found.values()])));
    },
  )
  .get(
    "/messages",
    queryOf((c) => schemas(c).historyQuery),
    async (c) => {
      const { stub, userId } = c.var.room;
      return c.json(await callRoom(stub.history(userId, c.req.valid("query"))));
    },
  )
  .post(
    "/messages",
    jsonBody((c) => schemas(c).sendMessage),
    async (c) => {
      const { stub, userId } = c.var.room;
      const { body, clientId, replyTo, attachments } = c.req.valid("json");
      const result = await callRoom(stub.send(userId, { body, clientId, replyTo, attachments }));
      return c.json({ message: result.message } satisfies MessageResponse, result.created ? 201 : 200);
    },
  )
  .patch(
    "/messages/:messageId",
    jsonBody((c) => schemas(c).editMessage),
    async (c) => {
      const { stub, userId } = c.var.room;
      const message = await callRoom(stub.edit(userId, c.req.param("messageId"), c.req.valid("json").body));
      return c.json({ message } satisfies MessageResponse);
    },
  )
  .delete("/messages/:messageId", async (c) => {
    const { stub, userId } = c.var.room;
    await callRoom(stub.remove(userId, c.req.param("messageId")));
    return c.body(null, 204);
  })
  .on(["PUT", "DELETE"], "/messages/:messageId/reactions/:emoji", async (c) => {
    const { stub, userId } = c.var.room;
    const emoji = emojiOf(c.req.param("emoji"));
    await callRoom(stub.react(userId, c.req.param("messageId"), emoji, c.req.method === "PUT"));
    return c.body(null, 204);
  })
  // The body is the file itself: app.ts's JSON guard lets this route through (UPLOAD_PATH).
  .post("/attachments", (c) => uploadAttachment(c, c.var.room))
  .post(
    "/read",
    jsonBody((c) => schemas(c).markRead),
    async (c) => {
      const { stub, userId } = c.var.room;
      await callRoom(stub.markRead(userId, c.req.valid("json").seq));
      return c.body(null, 204);
    },
  );

export const conversationRoutes = new Hono<AppEnv>()
  // The WebSocket route checks the upgrade and Origin before the token (which may be in the query).
  .get("/:id/ws", webSocketGuard, requireAuth({ allowQueryCredentials: true }), (c) =>
    forwardUpgrade(c, roomOf(c.env, conversationIdOf(c.req.param("id"))), {
      since: c.req.query("since"),
      batch: c.req.query("batch") === "1" ? "1" : undefined,
    }),
  )
  // A file: a link signed for its reader (what a message's `url` is) or the Bearer token.
  .get("/:id/attachments/:attachmentId", (c) => {
    const id = conversationIdOf(c.req.param("id"));
    return serveAttachment(c, { stub: roomOf(c.env, id), conversationId: id });
  })
  .use(requireAuth())
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
      // The user's inbox object has the page ready as JSON (rows it keeps itself; no D1 on this path).
      const page = await c.env.USER_INBOX.getByName(c.get("auth").userId).list(limit, decoded);
      return c.body(page, 200, { "content-type": "application/json" });
    },
  )
  .post(
    "/",
    jsonBody((c) => schemas(c).createConversation),
    async (c) => {
      const { result, status } = await createConversation(
        c.env,
        c.get("limits"),
        c.get("auth").userId,
        c.req.valid("json"),
        () => notFound("User not found"),
      );
      return c.json(result, status);
    },
  )
  .route("/:id", conversation);
