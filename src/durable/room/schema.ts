import { runMigrations } from "../migrate";

/**
 * The room's SQLite schema as ordered migrations. Rooms live for years and are woken with whatever
 * schema they were last written with, so a change is a new entry at the end of MIGRATIONS (never an
 * edit of an old one); each room runs the entries it has not run yet, in order, in one transaction.
 */

const MIGRATIONS: readonly string[] = [
  // 1. The conversation's log. Written with IF NOT EXISTS because rooms created before versioning
  //    have these tables and no version: for them this step changes nothing and records version 1.
  `CREATE TABLE IF NOT EXISTS meta (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS members (
     user_id TEXT PRIMARY KEY,
     first_name TEXT NOT NULL,
     last_name TEXT NOT NULL,
     avatar_url TEXT,
     active INTEGER NOT NULL,
     last_read_seq INTEGER NOT NULL DEFAULT 0,
     read_dirty INTEGER NOT NULL DEFAULT 0,
     joined_at TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS messages (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     sender_id TEXT NOT NULL,
     body TEXT NOT NULL,
     client_id TEXT,
     created_at TEXT NOT NULL,
     edited_at TEXT,
     deleted_at TEXT,
     rev INTEGER NOT NULL DEFAULT 1,
     dirty INTEGER NOT NULL DEFAULT 1
   );
   CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id ON messages (sender_id, client_id) WHERE client_id IS NOT NULL;
   CREATE INDEX IF NOT EXISTS messages_dirty ON messages (dirty) WHERE dirty = 1;
   CREATE TABLE IF NOT EXISTS inbox_pending (
     user_id TEXT PRIMARY KEY
   );`,
  // 2. The room owns membership: when a member left or hid the conversation, and whether D1's
  //    participants row still has to be told (membership reaches D1 through the outbox).
  `ALTER TABLE members ADD COLUMN left_at TEXT;
   ALTER TABLE members ADD COLUMN hidden_at_seq INTEGER;
   ALTER TABLE members ADD COLUMN member_dirty INTEGER NOT NULL DEFAULT 0;`,
  // 3. History reaches the shard by a high-water mark instead of a flag per row (outbox-log.ts):
  //    every seq up to meta `outbox_seq` is in the shard; a message changed after it was copied is
  //    listed in outbox_changed until it is copied again. Rows still dirty from before go above the
  //    mark (copied again: the upserts are idempotent); the flag's index goes, and with it a row
  //    written per message twice (set, then cleared). `messages.rev` and `dirty` stay, unused.
  `CREATE TABLE IF NOT EXISTS outbox_changed (
     seq INTEGER PRIMARY KEY,
     rev INTEGER NOT NULL
   );
   INSERT OR REPLACE INTO meta (key, value)
     SELECT 'outbox_seq', CAST(COALESCE((SELECT MIN(seq) - 1 FROM messages WHERE dirty = 1),
                                        (SELECT MAX(seq) FROM messages), 0) AS TEXT);
   DROP INDEX IF EXISTS messages_dirty;`,
  // 4. Replies, reactions and mute. A reply stores the quote of the message it answers (reply_quote,
  //    JSON), rewritten when the original is edited or deleted (found by reply_to_id). Who reacted
  //    with what is one row each (a removal stays, inactive, until D1 has it); the counts every
  //    message view needs are kept on the message (reaction_counts, JSON), so reading history
  //    costs no extra query.
  `ALTER TABLE messages ADD COLUMN reply_to_id TEXT;
   ALTER TABLE messages ADD COLUMN reply_quote TEXT;
   ALTER TABLE messages ADD COLUMN reaction_counts TEXT;
   CREATE INDEX IF NOT EXISTS messages_reply_to ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;
   CREATE TABLE IF NOT EXISTS reactions (
     seq INTEGER NOT NULL,
     emoji TEXT NOT NULL,
     user_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     active INTEGER NOT NULL,
     rev INTEGER NOT NULL DEFAULT 1,
     dirty INTEGER NOT NULL DEFAULT 1,
     PRIMARY KEY (seq, emoji, user_id)
   );
   CREATE INDEX IF NOT EXISTS reactions_user ON reactions (user_id, seq) WHERE active = 1;
   CREATE INDEX IF NOT EXISTS reactions_dirty ON reactions (dirty) WHERE dirty = 1;
   ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;`,
  // 5. The webhook outbox (webhook-outbox.ts): the room's events in order (AUTOINCREMENT: a seq is
  //    never reused after the table empties, so an endpoint's cursor never skips a new event), and
  //    per endpoint how far it has been delivered and the one batch in flight.
  `CREATE TABLE IF NOT EXISTS webhook_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     body TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS webhook_endpoints (
     url TEXT PRIMARY KEY,
     delivered_seq INTEGER NOT NULL DEFAULT 0,
     batch_id TEXT,
     batch_through INTEGER,
     sent_at INTEGER
   );`,
  // 6. Attachments (files.ts). A message keeps its files' descriptions (attachments, JSON), so
  //    views and the shard's copy need no join. The files themselves are in R2; `files` has one row
  //    per upload to this conversation, from before its first byte is stored: who uploaded it, what
  //    it turned out to be, the message that carries it (message_seq, once sent), and when it is
  //    to be deleted (due_at, ms: an upload never sent, or a deleted message's file), which the
  //    room's alarm does.
  `ALTER TABLE messages ADD COLUMN attachments TEXT;
   CREATE TABLE IF NOT EXISTS files (
     id TEXT PRIMARY KEY,
     uploader_id TEXT NOT NULL,
     state TEXT NOT NULL,
     name TEXT,
     content_type TEXT,
     size INTEGER,
     width INTEGER,
     height INTEGER,
     created_at TEXT NOT NULL,
     message_seq INTEGER,
     due_at INTEGER
   );
   CREATE INDEX IF NOT EXISTS files_due ON files (due_at) WHERE due_at IS NOT NULL;
   CREATE INDEX IF NOT EXISTS files_message ON files (message_seq) WHERE message_seq IS NOT NULL;`,
  // 7. Profile changes reach a room from the user's inbox (inbox/profile-sync.ts), numbered: a
  //    member's profile_version is the newest the room took, and an older change arriving late is
  //    ignored. 0: the profile came with the member (creation, an add, the directory).
  `ALTER TABLE members ADD COLUMN profile_version INTEGER NOT NULL DEFAULT 0;`,
];

/** The version a room reaches once migrated. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings a room's storage up to SCHEMA_VERSION; returns the version it found. */
export function migrate(storage: DurableObjectStorage): number {
  return runMigrations(storage, MIGRATIONS);
}
