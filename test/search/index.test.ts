import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HistoryBatchBuilder, mirrorHistory } from "../../src/db/mirror";
import worker from "../../src/index";
import { metricsFrom } from "../../src/observability/metrics";
import { registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { historyDbOf } from "../helpers/d1";
import { drainOutbox, fullHistory } from "../helpers/rooms";
import { found, uniqueWord } from "../helpers/search";

/**
 * The index in each shard follows the message rows through triggers, in the transaction that
 * writes them: the outbox's copies (retried ones too), edits, deletes and the retention job.
 * FTS5's own integrity check compares the index with the rows it indexes.
 */

/** FTS5's integrity check against the content table (rank 1); throws if the index is off. */
async function checkIndex(db: D1Database): Promise<void> {
  await db.prepare("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)").run();
}

/** How many index entries hold `word` in this conversation. */
async function indexed(db: D1Database, conversationId: string, word: string): Promise<number> {
  const row = await db
    .prepare(
      `SELECT count(*) AS n FROM message_search WHERE message_search MATCH ?
       AND conversation_id = ?`,
    )
    .bind(`{body} : "${word}"`, conversationId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function conversationOf(n: number, word: string) {
  const ann = await registerUser("Ann", "Index");
  const bob = await registerUser("Bob", "Index");
  const { conversation } = await startConversation(ann.token, [bob.user.id]);
  const id = conversation.id;
  for (let i = 1; i <= n; i++) await sendMessage(i % 2 ? ann.token : bob.token, id, `${word} number ${i}`);
  await drainOutbox(id, n);
  return { ann, bob, id, db: await historyDbOf(id) };
}

describe("the search index", () => {
  it("holds each message once however often its batch is sent again", async () => {
    const word = uniqueWord("retry");
    const { ann, id, db } = await conversationOf(6, word);
    const history = await fullHistory(id, ann.token);
    const builder = new HistoryBatchBuilder(1_000_000, 1000);
    for (const m of history) {
      builder.addMessage({
        id: m.id,
        seq: m.seq,
        senderId: m.sender?.id ?? null,
        body: m.body,
        clientId: m.clientId,
        createdAt: m.createdAt,
        editedAt: m.editedAt,
        deletedAt: m.deletedAt,
      });
    }
    const batch = builder.build();
    if (!batch) throw new Error("empty batch");
    // A batch D1 applied but whose answer was lost is sent again by the outbox: twice more here.
    await mirrorHistory(db, id, batch, metricsFrom(env));
    await mirrorHistory(db, id, batch, metricsFrom(env));
    expect(await indexed(db, id, word)).toBe(6);
    await checkIndex(db);
    expect(await found(ann.token, word)).toHaveLength(6);
  });

  it("replaces an edited body's words and drops a deleted one's, and stays exact", async () => {
    const word = uniqueWord("upkeep");
    const { ann, id, db } = await conversationOf(4, word);
    const history = await fullHistory(id, ann.token);
    const [first, , third] = history;
    await call("PATCH", `/api/conversations/${id}/messages/${first!.id}`, {
      token: ann.token,
      body: { body: "rewritten entirely" },
    });
    await call("DELETE", `/api/conversations/${id}/messages/${third!.id}`, { token: ann.token });
    await drainOutbox(id, 4);
    expect(await indexed(db, id, word)).toBe(2);
    expect(await indexed(db, id, "rewritten")).toBe(1);
    await checkIndex(db);
  });

  it("lets retention's deletes take messages out of the index", async () => {
    const word = uniqueWord("aging");
    const { ann, id, db } = await conversationOf(5, word);
    // Three of them older than RETENTION_DAYS (30 in this project).
    await db
      .prepare("UPDATE messages SET created_at = ? WHERE conversation_id = ? AND seq <= 3")
      .bind("2020-01-01T00:00:00.000Z", id)
      .run();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: "*/10 * * * *" }),
      env,
    );
    expect(await indexed(db, id, word)).toBe(2);
    await checkIndex(db);
    expect(await found(ann.token, word)).toEqual([`${word} number 5`, `${word} number 4`]);
  });
});
