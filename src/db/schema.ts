import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// The directory database (binding DB): who exists, which conversations exist, who is in them, and
// on which history shard each conversation's messages are (history-schema.ts). It receives no write
// per message. Times are ISO-8601 UTC strings: they sort correctly as text and go to clients unchanged.

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    // Stored lower-cased. Own accounts always have one (it is how they sign in); users of an
    // identity provider or the server API may have none.
    email: text("email"),
    // "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>": the cost travels with the hash so it can rise
    // later. Null for external users: they never sign in with a password.
    passwordHash: text("password_hash"),
    firstName: text("first_name").notNull(),
    lastName: text("last_name").notNull(),
    avatarUrl: text("avatar_url"),
    createdAt: text("created_at").notNull(),
    // The people search's keys (src/db/search-key.ts): "first last" and "last first", case-folded,
    // so a name prefix is a range of an index. Written with the names, never by hand.
    nameKey: text("name_key").notNull().default(""),
    nameKeyReversed: text("name_key_reversed").notNull().default(""),
    // The host application's id for this person: the identity provider's `sub`, or the id given to
    // the server API. Null for own accounts. One namespace for both, so a user provisioned by the
    // host's backend is the same user when they arrive with their provider's token.
    externalId: text("external_id"),
    // SHA-256 of the profile last taken from the provider's claims: a token whose claims did not
    // change writes nothing, and a profile edited since (PATCH /api/me, the server API) is kept.
    claimsHash: text("claims_hash"),
    // When the user deleted their account (DELETE /api/me); null while it exists. The row stays, as
    // "Deleted user" with no email, avatar or password, so history keeps a name for their tombstones;
    // an external id stays on it (refusing the provider's tokens from before) until a newer sign-in
    // or the server API claims the id for a new account.
    deletedAt: text("deleted_at"),
  },
  (t) => [
    // Only own accounts are unique by email (it is their login). An external identity never claims,
    // merges with or signs in to an own account because their emails match.
    uniqueIndex("users_email_unique")
      .on(t.email)
      .where(sql`${t.externalId} IS NULL`),
    // Exact-email people search covers external users too, own accounts first (NULL sorts first).
    index("users_email_idx").on(t.email, t.externalId),
    uniqueIndex("users_external_id_unique").on(t.externalId),
    // The id completes the order of equal keys, so a page is read in index order and stops at its limit.
    index("users_name_key_idx").on(t.nameKey, t.id),
    index("users_name_key_reversed_idx").on(t.nameKeyReversed, t.id),
  ],
);

export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["direct", "group"] }).notNull(),
    title: text("title"),
    // "<smaller user id>:<larger user id>" for direct conversations, null for groups. The unique
    // index is what keeps one direct conversation per pair when two first requests race.
    directKey: text("direct_key"),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull(),
    // The creation time since history was sharded: the directory is not written per message, so
    // neither column moves any more (the latest activity is the room's, and the user's inbox's).
    updatedAt: text("updated_at").notNull(),
    lastSeq: integer("last_seq").notNull().default(0),
    // The binding name of the history shard holding this conversation's messages (src/db/shards.ts),
    // chosen when the conversation is created. Null: a conversation from before sharding, whose
    // messages are on the first shard of HISTORY_SHARDS (its room records the name when it wakes).
    shard: text("shard"),
  },
  (t) => [uniqueIndex("conversations_direct_key_unique").on(t.directKey)],
);

export const participants = sqliteTable(
  "participants",
  {
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    // The read position when the membership last changed. Read positions moving with reading are
    // in the history shard (read_positions), next to the messages; the newer of the two counts.
    lastReadSeq: integer("last_read_seq").notNull().default(0),
    // Direct conversations: hidden while lastSeq <= hiddenAtSeq ("hidden until the next message").
    hiddenAtSeq: integer("hidden_at_seq"),
    // Groups: set when the user left; the row stays so history keeps its authors.
    leftAt: text("left_at"),
    joinedAt: text("joined_at").notNull(),
    // The user muted the conversation: no push notifications (the room owns it; copied here).
    muted: integer("muted", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.userId] }),
    index("participants_user_idx").on(t.userId, t.conversationId),
  ],
);

/**
 * Blocks between people: `blockedId` cannot start a direct conversation with `blockerId` or add
 * them to a group. Looked up by the blocked person's actions, so indexed that way round too.
 */
export const blocks = sqliteTable(
  "blocks",
  {
    blockerId: text("blocker_id")
      .notNull()
      .references(() => users.id),
    blockedId: text("blocked_id")
      .notNull()
      .references(() => users.id),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.blockerId, t.blockedId] }),
    index("blocks_blocked_idx").on(t.blockedId, t.blockerId),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type ConversationRow = typeof conversations.$inferSelect;
export type ParticipantRow = typeof participants.$inferSelect;
