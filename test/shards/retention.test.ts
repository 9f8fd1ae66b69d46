import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import worker from "../../src/index";
import type { Message } from "../../src/protocol/models";
import { registerUser, sendMessage, startConversation } from "../helpers/api";
import { drainOutbox, fullHistory } from "../helpers/rooms";
import { historyDbOf } from "../helpers/d1";

/**
 * Retention in this project: RETENTION_DAYS=30, RETENTION_ARCHIVE=on, RETENTION_BATCH_ROWS=7.
 * Messages are made old by dating their shard rows back; the Cron Trigger's handler does the rest.
 */

const limits = limitsFrom(env);
const LONG_AGO = "2020-01-01T00:00:00.000Z";

/** One run of the Cron Trigger's handler, as the runtime calls it. */
async function runJob(): Promise<void> {
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/10 * * * *" }), env);
}

/** A conversation whose first `old` messages (of `total`) are older than the retention period. */
async function agedConversation(total: number, old: number) {
  const a = await registerUser("Ann", "Retention");
  const b = await registerUser("Bob", "Retention");
  const { conversation } = await startConversation(a.token, [b.user.id], { title: "aging" });
  const id = conversation.id;
  const sent: Message[] = [];
  for (let i = 1; i <= total; i++) sent.push(await sendMessage(a.token, id, `m${i}`));
  await drainOutbox(id, total);
  const db = await historyDbOf(id);
  await db
    .prepare("UPDATE messages SET created_at = ? WHERE conversation_id = ? AND seq <= ?")
    .bind(LONG_AGO, id, old)
    .run();
  return { a, id, sent, db };
}

async function shardSeqs(db: D1Database, id: string): Promise<number[]> {
  const { results } = await db
    .prepare("SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq")
    .bind(id)
    .all<{ seq: number }>();
  return results.map((r) => r.seq);
}

/** Every archived message of a conversation, from all its objects, in key order. */
async function archived(id: string): Promise<{ keys: string[]; seqs: number[]; bodies: string[] }> {
  const listed = await env.BUCKET.list({ prefix: `archive/${id}/` });
  const keys = listed.objects.map((o) => o.key).sort();
  const rows: { seq: number; body: string }[] = [];
  for (const key of keys) {
    const text = await (await env.BUCKET.get(key))!.text();
    for (const line of text.trim().split("\n")) rows.push(JSON.parse(line) as { seq: number; body: string });
  }
  return { keys, seqs: rows.map((r) => r.seq), bodies: rows.map((r) => r.body) };
}

describe("retention", () => {
  it("archives messages older than RETENTION_DAYS to R2 as NDJSON, then deletes them from the shard in small batches", async () => {
    expect(limits.retentionDays).toBeGreaterThan(0);
    const { a, id, sent, db } = await agedConversation(20, 16);
    await runJob();
    expect(await shardSeqs(db, id)).toEqual([17, 18, 19, 20]);
    const archive = await archived(id);
    expect(archive.seqs).toEqual(sent.slice(0, 16).map((m) => m.seq));
    expect(archive.bodies).toEqual(sent.slice(0, 16).map((m) => m.body));
    // One object per conversation and batch (batches of RETENTION_BATCH_ROWS = 7).
    expect(archive.keys.length).toBeGreaterThanOrEqual(3);
    expect(archive.keys.every((k) => /^archive\/c_[0-9a-z]{20}\/\d{12}-\d{12}\.ndjson$/.test(k))).toBe(true);
    // A second run finds nothing old: nothing more is deleted or archived.
    await runJob();
    expect(await shardSeqs(db, id)).toEqual([17, 18, 19, 20]);
    expect((await archived(id)).keys).toEqual(archive.keys);
    // What retention removed is gone from history, except what the room's own tail (the latest
    // ROOM_LOG_TAIL = 5) keeps: seq 16 is old enough to go, and stays readable there.
    const history = await fullHistory(id, a.token);
    expect(history.map((m) => m.seq)).toEqual([16, 17, 18, 19, 20]);
  });

  it("stores the same objects again and deletes once when a run stops between archiving and deleting", async () => {
    const { id, sent, db } = await agedConversation(10, 10);
    await db
      .prepare("CREATE TRIGGER keep_rows BEFORE DELETE ON messages BEGIN SELECT RAISE(FAIL, 'injected'); END")
      .run();
    try {
      await runJob(); // archives the first batch, then fails to delete it: the run ends there
    } finally {
      await db.prepare("DROP TRIGGER IF EXISTS keep_rows").run();
    }
    expect(await shardSeqs(db, id)).toHaveLength(10);
    const interrupted = await archived(id);
    expect(interrupted.seqs.length).toBeGreaterThan(0);
    await runJob();
    expect(await shardSeqs(db, id)).toEqual([]);
    const archive = await archived(id);
    // Every message archived exactly once: the interrupted batch's object was stored again, not twice.
    expect(archive.seqs).toEqual(sent.map((m) => m.seq));
    expect(archive.keys.slice(0, interrupted.keys.length)).toEqual(interrupted.keys);
  });
});
