import { runMigrations } from "../migrate";

/**
 * The user's inbox object's SQLite schema as ordered migrations (see ../migrate.ts): a change is a
 * new entry at the end, never an edit of an old one. The socket tickets are in the object's KV
 * storage and need none.
 */

const MIGRATIONS: readonly string[] = [
  // 1. Web Push. Written with IF NOT EXISTS because inboxes from before versioning created these
  //    tables on first use and have no version: for them this step changes nothing.
  //    push_conversations.last_seq: the newest message already considered, so a read, an edit or a
  //    retried notice of the same message never pushes again; last_push_at drives the interval.
  //    push_queue: one waiting push per conversation at most (a newer one replaces it).
  `CREATE TABLE IF NOT EXISTS push_subscriptions (
     endpoint TEXT PRIMARY KEY,
     p256dh TEXT NOT NULL,
     auth TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS push_conversations (
     conversation_id TEXT PRIMARY KEY,
     last_seq INTEGER NOT NULL,
     last_push_at INTEGER
   );
   CREATE TABLE IF NOT EXISTS push_queue (
     conversation_id TEXT PRIMARY KEY,
     seq INTEGER NOT NULL,
     payload TEXT NOT NULL,
     queued_at INTEGER NOT NULL
   );`,
  // 2. The inbox: one row per conversation of the user, as the rooms' notices last told it
  //    (version: the room's notice counter, see notice.ts). `conversation` is the Conversation JSON
  //    the listing returns as it is (null once the user left). The listing reads visible rows in
  //    activity order through the partial index. `meta` holds the backfill marker.
  `CREATE TABLE meta (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE conversations (
     conversation_id TEXT PRIMARY KEY,
     version INTEGER NOT NULL,
     state TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     last_seq INTEGER NOT NULL,
     last_read_seq INTEGER NOT NULL,
     unread_count INTEGER NOT NULL,
     muted INTEGER NOT NULL,
     kind TEXT,
     title TEXT,
     participant_count INTEGER NOT NULL,
     conversation TEXT
   );
   CREATE INDEX conversations_listing ON conversations (updated_at DESC, conversation_id DESC)
     WHERE state = 'visible';`,
  // 3. The user's budgets (budgets.ts): one token bucket per kind, its level as of updated_at (ms).
  `CREATE TABLE budgets (
     kind TEXT PRIMARY KEY,
     tokens REAL NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // 4. The user deleted their account (erasure.ts): every conversation they were ever in, until its
  //    room has erased them (done), and how often it failed to (the failing ones wait at the back).
  //    Visited in the order they were listed (rowid): the inbox's, most recent activity first.
  //    When they deleted it and how far the deletion is are rows of `meta`.
  `CREATE TABLE erase_rooms (
     conversation_id TEXT PRIMARY KEY,
     done INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX erase_rooms_pending ON erase_rooms (attempts) WHERE done = 0;`,
];

/** The version an inbox reaches once migrated. */
export const INBOX_SCHEMA_VERSION = MIGRATIONS.length;

/** Brings an inbox's storage up to INBOX_SCHEMA_VERSION; returns the version it found. */
export function migrateInbox(storage: DurableObjectStorage): number {
  return runMigrations(storage, MIGRATIONS);
}
