import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION, migrate } from "../../src/durable/room/schema";
import { OutboxLog } from "../../src/durable/room/outbox-log";
import { RoomStorage } from "../../src/durable/room/storage";
import { withStorage } from "./support";

/** The tables of a room created before the schema had versions (the first version, unrecorded). */
const UNVERSIONED = `
DROP TABLE IF EXISTS schema_version;
DROP TABLE IF EXISTS meta;
DROP TABLE IF EXISTS members;
DROP TABLE IF EXISTS messages;
DROP TABLE IF EXISTS inbox_pending;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE members (
  user_id TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, avatar_url TEXT,
  active INTEGER NOT NULL, last_read_seq INTEGER NOT NULL DEFAULT 0, read_dirty INTEGER NOT NULL DEFAULT 0,
  joined_at TEXT NOT NULL
);
CREATE TABLE messages (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sender_id TEXT NOT NULL, body TEXT NOT NULL,
  client_id TEXT, created_at TEXT NOT NULL, edited_at TEXT, deleted_at TEXT,
  rev INTEGER NOT NULL DEFAULT 1, dirty INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX messages_client_id ON messages (sender_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_dirty ON messages (dirty) WHERE dirty = 1;
CREATE TABLE inbox_pending (user_id TEXT PRIMARY KEY);
INSERT INTO meta (key, value) VALUES ('room', '{"id":"c_old","kind":"group","title":"old","createdAt":"2026-01-01T00:00:00.000Z","createdBy":"u_a"}');
INSERT INTO members (user_id, first_name, last_name, avatar_url, active, last_read_seq, joined_at)
  VALUES ('u_a', 'Ann', 'Old', NULL, 1, 1, '2026-01-01T00:00:00.000Z');
INSERT INTO messages (seq, id, sender_id, body, client_id, created_at, dirty)
  VALUES (1, 'm_old', 'u_a', 'kept', 'c1', '2026-01-01T00:00:00.000Z', 0);
`;

describe("room schema", () => {
  it("brings a new room to the latest version, and a second run changes nothing", async () => {
    await withStorage((storage) => {
      // The room's own constructor migrated this storage already.
      expect(migrate(storage)).toBe(SCHEMA_VERSION);
      expect(storage.sql.exec("SELECT version FROM schema_version").toArray()).toEqual([
        { version: SCHEMA_VERSION },
      ]);
    });
  });

  it("upgrades a room from before versioning in place, keeping its conversation, members and log", async () => {
    await withStorage((storage) => {
      storage.sql.exec(UNVERSIONED);
      expect(migrate(storage)).toBe(0);
      expect(migrate(storage)).toBe(SCHEMA_VERSION);
      const store = new RoomStorage(storage);
      expect(store.readMeta()).toEqual({
        kind: "group",
        title: "old",
        createdAt: "2026-01-01T00:00:00.000Z",
        createdBy: "u_a",
        directKey: null,
        shard: null,
      });
      expect(store.members()).toEqual([expect.objectContaining({ id: "u_a", active: true, lastReadSeq: 1 })]);
      expect(store.messageBySeq(1)).toMatchObject({ id: "m_old", body: "kept", clientId: "c1" });
      // Rows from before were in D1 already: nothing for the outbox.
      const log = new OutboxLog(store);
      expect(log.syncedSeq()).toBe(1);
      expect(log.hasPending(1)).toBe(false);
      expect(store.dirtyMembers()).toEqual([]);
      // The columns added since work on the old rows.
      store.markHidden("u_a", 1);
      expect(store.dirtyMembers()).toEqual([
        {
          userId: "u_a",
          joinedAt: "2026-01-01T00:00:00.000Z",
          leftAt: null,
          hiddenAtSeq: 1,
          lastReadSeq: 1,
          muted: false,
        },
      ]);
    });
  });

  it("keeps what was still to copy to D1: the high-water mark starts below the first dirty message", async () => {
    await withStorage((storage) => {
      storage.sql.exec(UNVERSIONED);
      storage.sql.exec(
        `INSERT INTO messages (seq, id, sender_id, body, client_id, created_at, dirty) VALUES
           (2, 'm_2', 'u_a', 'copied', NULL, '2026-01-01T00:00:01.000Z', 0),
           (3, 'm_3', 'u_a', 'not yet', NULL, '2026-01-01T00:00:02.000Z', 1),
           (4, 'm_4', 'u_a', 'copied, later', NULL, '2026-01-01T00:00:03.000Z', 0)`,
      );
      migrate(storage);
      const log = new OutboxLog(new RoomStorage(storage));
      // 3 and everything after it go (again: the shard's upserts make 4 a no-op).
      expect(log.syncedSeq()).toBe(2);
      expect(log.hasPending(4)).toBe(true);
      expect(
        storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'messages_dirty'").toArray(),
      ).toEqual([]);
    });
  });
});
