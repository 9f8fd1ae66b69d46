import * as z from "zod";

/**
 * The objects of API.md as they travel on the wire (REST bodies and socket events). The schemas let
 * the web client and the tests check what the server sends; the server builds them from its rows.
 */

export const UserSchema = z.object({
  id: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  avatarUrl: z.string().nullable(),
});
export type User = z.infer<typeof UserSchema>;

/**
 * The caller's own user: only /api/me and auth responses carry these. `email` is null for a user of
 * an identity provider that gave none; `externalId` is the host application's id (null for own
 * accounts).
 */
export const MeSchema = UserSchema.extend({
  email: z.string().nullable(),
  externalId: z.string().nullable(),
});
export type Me = z.infer<typeof MeSchema>;

/**
 * The message a reply quotes, as stored with the reply: the first characters of its body, kept
 * current when the original is edited, and a tombstone (body "", deletedAt set) once it is deleted.
 */
export const QuoteSchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  /** null when the quoted message is a system message (it has no sender). */
  sender: UserSchema.nullable(),
  body: z.string(),
  deletedAt: z.string().nullable(),
});
export type Quote = z.infer<typeof QuoteSchema>;

/** How many people reacted to a message with one emoji (in the order the emoji were first used). */
export const ReactionCountSchema = z.object({ emoji: z.string(), count: z.number().int() });
export type ReactionCount = z.infer<typeof ReactionCountSchema>;

/**
 * A file sent with a message. `width` and `height` are set for the pictures shown inline (PNG,
 * JPEG, GIF, WebP, recognised by their bytes); `url` serves it to participants only (a link signed
 * for the reader, or the bare path with the Bearer token: README, "Attachments").
 */
export const AttachmentSchema = z.object({
  id: z.string(),
  name: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  url: z.string(),
});
export type Attachment = z.infer<typeof AttachmentSchema>;

export const MessageSchema = z.object({
  id: z.string(),
  conversationId: z.string(),
  seq: z.number().int(),
  /** null for a system message: the host application's backend posted it (server API). */
  sender: UserSchema.nullable(),
  /** "" for a deleted message (a tombstone keeps its seq). */
  body: z.string(),
  clientId: z.string().nullable(),
  createdAt: z.string(),
  editedAt: z.string().nullable(),
  deletedAt: z.string().nullable(),
  replyTo: QuoteSchema.nullable(),
  reactions: z.array(ReactionCountSchema),
  /** REST responses only: the emoji the caller reacted with. Socket events leave it out. */
  myReactions: z.array(z.string()).optional(),
  /** Empty on a tombstone: a deleted message's files are deleted with it. */
  attachments: z.array(AttachmentSchema),
  /** A system message (sender null), shown apart from people's messages. */
  system: z.boolean(),
});
export type Message = z.infer<typeof MessageSchema>;

/** How far one participant has read (API.md v2: `reads` on Conversation and on the room's `ready`). */
export const ReadPositionSchema = z.object({ userId: z.string(), lastReadSeq: z.number().int() });
export type ReadPosition = z.infer<typeof ReadPositionSchema>;

export const ConversationSchema = z.object({
  id: z.string(),
  kind: z.enum(["direct", "group"]),
  title: z.string().nullable(),
  /** Who created it: in a group, the one who may remove others. */
  createdBy: z.string(),
  /**
   * Everyone in it on `GET /api/conversations/:id` and in REST answers about one conversation; the
   * first INBOX_PARTICIPANTS (by join time) in the inbox listing and inbox events.
   */
  participants: z.array(UserSchema),
  /** How many people are in it, however many `participants` lists. */
  participantCount: z.number().int(),
  createdAt: z.string(),
  /** Time of the latest activity. */
  updatedAt: z.string(),
  lastSeq: z.number().int(),
  lastMessage: MessageSchema.nullable(),
  unreadCount: z.number().int(),
  lastReadSeq: z.number().int(),
  /** The caller muted it: no push notifications; unread messages still count. */
  muted: z.boolean(),
  /**
   * How far the participants have read: every participant of a direct conversation; in a group the
   * ones furthest along, at most PRESENCE_MAX_MEMBERS of them, so "seen by" survives a reload.
   */
  reads: z.array(ReadPositionSchema),
});
export type Conversation = z.infer<typeof ConversationSchema>;
export type ConversationKind = Conversation["kind"];

export const AuthResponseSchema = z.object({ token: z.string(), user: MeSchema });
export type AuthResponse = z.infer<typeof AuthResponseSchema>;

/** POST /api/auth/refresh: a new token for the same sign-in. */
export const RefreshResponseSchema = AuthResponseSchema.extend({ expiresAt: z.string() });
export type RefreshResponse = z.infer<typeof RefreshResponseSchema>;

/** POST /api/ws-ticket: a single-use credential for one socket, valid `expiresIn` seconds. */
export const TicketResponseSchema = z.object({ ticket: z.string(), expiresIn: z.number().int() });
export type TicketResponse = z.infer<typeof TicketResponseSchema>;

/** POST /api/server/users/:externalId/tokens */
export const MintedTokenSchema = z.object({ token: z.string(), expiresAt: z.string() });
export type MintedToken = z.infer<typeof MintedTokenSchema>;
