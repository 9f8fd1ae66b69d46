import * as z from "zod";
import { ConversationSchema, MessageSchema, UserSchema } from "./models";

/** REST response bodies of API.md that wrap the models: built by the Worker, parsed by the web client. */

/** `GET /api/conversations`: one page of the inbox, newest activity first; `nextCursor` is opaque. */
export const InboxPageSchema = z.object({
  conversations: z.array(ConversationSchema),
  nextCursor: z.string().nullable(),
});
export type InboxPage = z.infer<typeof InboxPageSchema>;

/** `GET /api/conversations/:id/messages`: ascending by seq. */
export const HistoryPageSchema = z.object({ messages: z.array(MessageSchema), hasMore: z.boolean() });
export type HistoryPage = z.infer<typeof HistoryPageSchema>;

/** `GET /api/users`. */
export const UserListSchema = z.object({ users: z.array(UserSchema) });
export type UserList = z.infer<typeof UserListSchema>;

/** `POST /api/conversations`: 201 when created, 200 for the direct conversation that existed. */
export const ConversationCreatedSchema = z.object({
  conversation: ConversationSchema,
  message: MessageSchema.optional(),
});
export type ConversationCreated = z.infer<typeof ConversationCreatedSchema>;

/** `POST` and `PATCH` of a message. */
export const MessageResponseSchema = z.object({ message: MessageSchema });
export type MessageResponse = z.infer<typeof MessageResponseSchema>;

/** `GET /api/push/vapid-public-key`. */
export const VapidKeyResponseSchema = z.object({ key: z.string() });

/** What a push delivers to the service worker (decrypted by the browser; README, "Notifications"). */
export const PushPayloadSchema = z.object({
  conversationId: z.string(),
  title: z.string(),
  body: z.string(),
});
export type PushPayload = z.infer<typeof PushPayloadSchema>;

/** `GET /api/me/blocks`: the people the caller blocked (a UserList, as people search answers). */
export type BlockList = UserList;
