import { Hono } from "hono";
import { limitsFrom } from "../../config";
import { callRoom, isConversationId, roomOf } from "../../durable/room/stub";
import type { AppEnv } from "../../env";
import { ApiError, notFound } from "../../errors";
import { requestSchemas } from "../../protocol/requests";
import type { MessageResponse } from "../../protocol/responses";
import { jsonBody } from "../../validation";
import { createConversation } from "../create-conversation";

const schemas = (c: { env: Env }) => requestSchemas(limitsFrom(c.env));

/**
 * Conversations on behalf of the host application's users: the same creation and the same room
 * writes as the user routes, with the acting user named in the body instead of by a token.
 */
export const serverConversationRoutes = new Hono<AppEnv>()
  // As POST /api/conversations for `createdBy`; an unknown createdBy is a 422 like an unknown participant.
  .post(
    "/",
    jsonBody((c) => schemas(c).serverCreateConversation),
    async (c) => {
      const { createdBy, ...input } = c.req.valid("json");
      const { result, status } = await createConversation(
        c.env,
        c.get("limits"),
        createdBy,
        input,
        () =>
          new ApiError("validation_failed", "Unknown user", {
            details: [{ path: "createdBy", message: `unknown user ${createdBy}` }],
          }),
      );
      return c.json(result, status);
    },
  )
  // A message as `senderId` (a participant), or without it a system message: `sender: null, system: true`.
  .post(
    "/:id/messages",
    jsonBody((c) => schemas(c).serverMessage),
    async (c) => {
      const id = c.req.param("id");
      if (!isConversationId(id)) throw notFound("Conversation not found");
      const { body, clientId, senderId } = c.req.valid("json");
      const sent = await callRoom(roomOf(c.env, id).post(senderId ?? null, { body, clientId }));
      return c.json({ message: sent.message } satisfies MessageResponse, sent.created ? 201 : 200);
    },
  );
