import { integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// A history shard (a D1 database named in HISTORY_SHARDS, see shards.ts): the messages of the
// conversations placed on it, and their members' read positions. Rooms write here through their
// outbox (mirror.ts); nothing refers to the directory's tables, so a shard stands on its own. In a
// deployment from before sharding the first shard is the directory database itself, whose
// `messages` table (created by the directory's first migration) already has this shape.

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id").notNull(),
    seq: integer("seq").notNull(),
    // Null for a system message (posted by the host application's backend, no sender).
    senderId: text("sender_id"),
    body: text("body").notNull(),
    clientId: text("client_id"),
    createdAt: text("created_at").notNull(),
    editedAt: text("edited_at"),
    deletedAt: text("deleted_at"),
    // A reply: the id of the message it answers and the room's quote of it (JSON: id, seq, senderId,
    // body, deletedAt), rewritten by the room when the original is edited or deleted.
    replyToId: text("reply_to_id"),
    replyQuote: text("reply_quote"),
    // Reaction counts as the room keeps them (JSON [{emoji, count}]), so history read from the
    // shard shows them; who reacted is in `reactions`.
    reactions: text("reactions"),
    // The files sent with it as the room describes them (JSON [{id, name, contentType, size, width,
    // height}], no links: those are signed per reader); the bytes are in R2. Null: none, or deleted.
    attachments: text("attachments"),
  },
  // No unique index on clientId: the room numbers and deduplicates (its own log has that index),
  // and one index fewer is one row written fewer per message.
  (t) => [uniqueIndex("messages_conversation_seq_unique").on(t.conversationId, t.seq)],
);

export const readPositions = sqliteTable(
  "read_positions",
  {
    conversationId: text("conversation_id").notNull(),
    userId: text("user_id").notNull(),
    lastReadSeq: integer("last_read_seq").notNull(),
  },
  // Looked up by conversation (and user) only: no second index to write.
  (t) => [primaryKey({ columns: [t.conversationId, t.userId] })],
);

/** Who reacted to which message with what: the room's rows, copied by its outbox (a removal deletes). */
export const reactions = sqliteTable(
  "reactions",
  {
    conversationId: text("conversation_id").notNull(),
    seq: integer("seq").notNull(),
    emoji: text("emoji").notNull(),
    userId: text("user_id").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.seq, t.emoji, t.userId] })],
);

export type MessageRow = typeof messages.$inferSelect;
