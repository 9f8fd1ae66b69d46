import * as z from "zod";
import { AttachmentSchema, ConversationSchema, MeSchema, MessageSchema, UserSchema } from "./models";

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

/** `POST /api/conversations/:id/attachments`: the stored file, for the uploader to send within the TTL. */
export const AttachmentResponseSchema = z.object({ attachment: AttachmentSchema });
export type AttachmentResponse = z.infer<typeof AttachmentResponseSchema>;

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

/** `GET /api/me/export`: everything the service keeps about the caller (API.md, "Your data"). */
export const UserExportSchema = z.object({
  exportedAt: z.string(),
  user: MeSchema,
  /** The conversations the caller is in, as `GET /api/conversations/:id` shows them. */
  conversations: z.array(ConversationSchema),
  /** The caller's own messages in them (not deleted), by conversation, ascending by seq. */
  messages: z.array(MessageSchema),
  /** The people the caller blocked. */
  blocks: z.array(UserSchema),
  /** The push endpoints of the caller's browsers. */
  pushSubscriptions: z.array(z.object({ endpoint: z.string() })),
});
export type UserExport = z.infer<typeof UserExportSchema>;

/** The conversation of a `GET /api/search` result, as briefly as API.md has it (the query: search.ts). */
export const SearchConversationSchema = z.object({
  id: z.string(),
  kind: z.enum(["direct", "group"]),
  title: z.string().nullable(),
});
export type SearchConversation = z.infer<typeof SearchConversationSchema>;

export const SearchResultSchema = z.object({
  message: MessageSchema,
  conversation: SearchConversationSchema,
  /**
   * A part of the body around the matches, each match marked `[[`…`]]`. A `[` or `]` of the text
   * next to another or to a mark is followed (or preceded) by U+200B ZERO WIDTH SPACE, so every
   * `[[` and `]]` in a snippet is a mark.
   */
  snippet: z.string(),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;

/** `GET /api/search`: newest first; `nextCursor` is opaque, null on the last page. */
export const SearchPageSchema = z.object({
  results: z.array(SearchResultSchema),
  nextCursor: z.string().nullable(),
});
export type SearchPage = z.infer<typeof SearchPageSchema>;
