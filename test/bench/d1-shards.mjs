// The product's local D1 databases, read straight from the persist directory the bench started it
// with (node:sqlite, read-only): how far the history shards have caught up with a room. The shards
// are the databases with a `messages` table (the directory has an empty one from before sharding); a
// conversation is on one of them, so the highest seq over all of them is its copy's.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

export class LocalShards {
  constructor(persistDir) {
    this.dir = join(persistDir, "v3", "d1", "miniflare-D1DatabaseObject");
  }

  files() {
    try {
      return readdirSync(this.dir)
        .filter((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite")
        .map((name) => join(this.dir, name));
    } catch {
      return [];
    }
  }

  /** The highest seq of the conversation in any shard, or null when no shard has a row of it. */
  lastSeq(conversationId) {
    let last = null;
    for (const file of this.files()) {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").get())
          continue;
        const row = db
          .prepare("SELECT max(seq) AS seq FROM messages WHERE conversation_id = ?")
          .get(conversationId);
        if (typeof row?.seq === "number" && (last === null || row.seq > last)) last = row.seq;
      } finally {
        db.close();
      }
    }
    return last;
  }
}
