import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PushStore } from "../../src/durable/inbox/push-store";
import { InboxRows } from "../../src/durable/inbox/rows";
import { INBOX_SCHEMA_VERSION, migrateInbox } from "../../src/durable/inbox/schema";
import { newId } from "../../src/ids";
import { fakeNotice } from "../helpers/inbox";

/** The storage of an inbox object nobody uses (its constructor migrated it already). */
function withInboxStorage<T>(fn: (storage: DurableObjectStorage) => T | Promise<T>): Promise<T> {
  return runInDurableObject(env.USER_INBOX.getByName(newId("u")), (_instance, state) => fn(state.storage));
}

/** An inbox from before versioning: the push tables, created on first use, and nothing else. */
const UNVERSIONED = `
DROP TABLE IF EXISTS schema_version;
DROP TABLE IF EXISTS meta;
DROP TABLE IF EXISTS conversations;
DROP TABLE IF EXISTS push_subscriptions;
DROP TABLE IF EXISTS push_conversations;
DROP TABLE IF EXISTS push_queue;
DROP TABLE IF EXISTS budgets;
DROP TABLE IF EXISTS erase_rooms;
CREATE TABLE push_subscriptions (endpoint TEXT PRIMARY KEY, p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE push_conversations (conversation_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_push_at INTEGER);
CREATE TABLE push_queue (conversation_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, payload TEXT NOT NULL, queued_at INTEGER NOT NULL);
INSERT INTO push_subscriptions VALUES ('https://push.example/old', 'key', 'auth', 1);
`;

describe("inbox schema", () => {
  it("brings a new inbox to the latest version, and a second run changes nothing", async () => {
    await withInboxStorage((storage) => {
      expect(migrateInbox(storage)).toBe(INBOX_SCHEMA_VERSION);
      expect(storage.sql.exec("SELECT version FROM schema_version").toArray()).toEqual([
        { version: INBOX_SCHEMA_VERSION },
      ]);
    });
  });

  it("upgrades an inbox from before versioning in place, keeping its push subscriptions", async () => {
    await withInboxStorage((storage) => {
      storage.sql.exec(UNVERSIONED);
      expect(migrateInbox(storage)).toBe(0);
      expect(migrateInbox(storage)).toBe(INBOX_SCHEMA_VERSION);
      expect(new PushStore(storage.sql).subscriptions()).toEqual([
        { endpoint: "https://push.example/old", p256dh: "key", auth: "auth" },
      ]);
      const rows = new InboxRows(storage);
      expect(rows.apply(fakeNotice("c_old", 1, "visible", { lastSeq: 3 })).applied).toBe(true);
      expect(JSON.parse(rows.page(10, null))).toMatchObject({
        conversations: [{ id: "c_old", lastSeq: 3 }],
        nextCursor: null,
      });
    });
  });
});
