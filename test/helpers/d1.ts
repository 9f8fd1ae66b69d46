import { env } from "cloudflare:workers";
import { LEGACY_SHARD, shardDb } from "../../src/db/shards";

/** The binding name of the shard holding a conversation's history, as the directory records it. */
export async function shardNameOf(conversationId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT shard FROM conversations WHERE id = ?")
    .bind(conversationId)
    .first<{ shard: string | null }>();
  return row?.shard ?? LEGACY_SHARD;
}

/** The D1 database holding a conversation's history (in the default layout: the directory's). */
export async function historyDbOf(conversationId: string): Promise<D1Database> {
  return shardDb(env, await shardNameOf(conversationId));
}

/**
 * Real D1 faults for one conversation: a trigger in its shard that refuses the conversation's
 * message rows, so every outbox batch carrying them fails in D1 itself (the batch is one
 * transaction: nothing of it lands). Other conversations are untouched. Returns the undo.
 */
export async function refuseMessageRows(conversationId: string): Promise<() => Promise<void>> {
  // Conversation ids are `c_` and base-36 characters: safe inside the trigger's name and literal.
  if (!/^c_[0-9a-z]{20}$/.test(conversationId)) throw new Error(`not a conversation id: ${conversationId}`);
  const db = await historyDbOf(conversationId);
  const trigger = `refuse_${conversationId}`;
  await db
    .prepare(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON messages WHEN NEW.conversation_id = '${conversationId}'
       BEGIN SELECT RAISE(FAIL, 'injected'); END`,
    )
    .run();
  return async () => {
    await db.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run();
  };
}

/**
 * A whole shard down: triggers refusing every row written to its tables, so every batch sent to it
 * fails, whichever room sends it. Returns the undo.
 */
export async function breakShard(db: D1Database): Promise<() => Promise<void>> {
  const tables = ["messages", "read_positions"];
  await db.batch(
    tables.map((t) =>
      db.prepare(
        `CREATE TRIGGER shard_down_${t} BEFORE INSERT ON ${t} BEGIN SELECT RAISE(FAIL, 'shard down (injected)'); END`,
      ),
    ),
  );
  return async () => {
    await db.batch(tables.map((t) => db.prepare(`DROP TRIGGER IF EXISTS shard_down_${t}`)));
  };
}

/** The conversation's message rows in its shard. */
export async function d1MessageRows(
  conversationId: string,
): Promise<{ id: string; seq: number; body: string }[]> {
  const db = await historyDbOf(conversationId);
  const rows = await db
    .prepare("SELECT id, seq, body FROM messages WHERE conversation_id = ? ORDER BY seq")
    .bind(conversationId)
    .all<{ id: string; seq: number; body: string }>();
  return rows.results;
}

/** The conversation's rows in D1, polled until `expected` (the outbox copies in the background) or 3 s. */
export async function d1MessageCount(conversationId: string, expected: number): Promise<number> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const n = (await d1MessageRows(conversationId)).length;
    if (n === expected || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 25));
  }
}
