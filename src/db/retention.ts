import { limitsFrom } from "../config";
import { describeError, log } from "../log";
import { metricsFrom } from "../observability/metrics";
import { shardDb } from "./shards";

/**
 * Retention (RETENTION_DAYS, off when 0): the scheduled job deletes messages older than that from
 * every shard of HISTORY_SHARDS, in small batches (RETENTION_BATCH_ROWS, at most
 * RETENTION_MAX_BATCHES per shard and run), so the job never holds a shard's one writer for long.
 * With RETENTION_ARCHIVE=on each batch is first written to R2 (BUCKET) as one NDJSON object per
 * conversation, `archive/<conversationId>/<firstSeq>-<lastSeq>.ndjson` (seqs zero-padded, so keys
 * sort in history order), and deleted only once R2 has it.
 *
 * A shard is read in rowid order, which is the order its rows arrived: oldest first, without an
 * index on the time (one row written fewer per message). A run stops at the first window with
 * nothing old enough. Stopping anywhere is safe: a batch is deleted in one statement after its
 * objects are stored, so a run cut short leaves its last batch in D1, and the next run stores the
 * same rows under the same keys again (overwriting, not duplicating) before deleting them.
 *
 * A room keeps its own tail (ROOM_LOG_TAIL) regardless: the latest messages of a quiet
 * conversation stay readable there, however old.
 */

export interface RetentionReport {
  shard: string;
  batches: number;
  deleted: number;
  /** R2 objects written. */
  archived: number;
  /** Set when the shard failed; the other shards went on. */
  error?: string;
}

interface Row {
  rid: number;
  conversation_id: string;
  id: string;
  seq: number;
  sender_id: string;
  body: string;
  client_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

const WINDOW = `
SELECT rowid AS rid, conversation_id, id, seq, sender_id, body, client_id, created_at, edited_at, deleted_at
FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?`;

const DELETE_ROWS = "DELETE FROM messages WHERE rowid IN (SELECT value FROM json_each(?))";

const DAY_MS = 86_400_000;

/**
 * Calls one run makes at most (D1 queries and R2 writes together): one invocation may make 1,000
 * D1 queries (Cloudflare's D1 limits page) and a bounded number of subrequests. A run that would
 * go over stops; the next run goes on where it stopped.
 */
const CALLS_PER_RUN = 900;
const pad = (seq: number) => String(seq).padStart(12, "0");

/** One archive object per conversation of a batch; returns how many were stored. */
async function archive(bucket: R2Bucket, rows: Row[]): Promise<number> {
  const byConversation = new Map<string, Row[]>();
  for (const r of rows)
    byConversation.set(r.conversation_id, [...(byConversation.get(r.conversation_id) ?? []), r]);
  await Promise.all(
    [...byConversation].map(([conversationId, list]) => {
      list.sort((x, y) => x.seq - y.seq);
      const first = list[0];
      const last = list[list.length - 1];
      if (!first || !last) return Promise.resolve();
      const lines = list.map((r) =>
        JSON.stringify({
          conversationId,
          id: r.id,
          seq: r.seq,
          senderId: r.sender_id,
          body: r.body,
          clientId: r.client_id,
          createdAt: r.created_at,
          editedAt: r.edited_at,
          deletedAt: r.deleted_at,
        }),
      );
      return bucket.put(
        `archive/${conversationId}/${pad(first.seq)}-${pad(last.seq)}.ndjson`,
        `${lines.join("\n")}\n`,
        {
          httpMetadata: { contentType: "application/x-ndjson" },
        },
      );
    }),
  );
  return byConversation.size;
}

/** Runs retention over every shard once; a shard that fails is reported and the others go on. */
export async function runRetention(env: Env, now: number = Date.now()): Promise<RetentionReport[]> {
  const limits = limitsFrom(env);
  if (limits.retentionDays <= 0) return [];
  const bucket: R2Bucket | undefined = env.BUCKET;
  if (limits.retentionArchive && !bucket) {
    // Deleting what was to be archived first would lose it: nothing is deleted.
    log("error", "retention_refused", { reason: "RETENTION_ARCHIVE is on but BUCKET is not bound" });
    return [];
  }
  const cutoff = new Date(now - limits.retentionDays * DAY_MS).toISOString();
  const metrics = metricsFrom(env);
  const reports: RetentionReport[] = [];
  let calls = 0;
  for (const shard of limits.historyShards) {
    const report: RetentionReport = { shard, batches: 0, deleted: 0, archived: 0 };
    reports.push(report);
    try {
      const db = shardDb(env, shard);
      let after = 0;
      // Each batch: its window, the delete, and (archiving) at most one object per row.
      const perBatch = 2 + (limits.retentionArchive ? limits.retentionBatchRows : 0);
      while (report.batches < limits.retentionMaxBatches && calls + perBatch <= CALLS_PER_RUN) {
        calls++;
        const { results } = await db.prepare(WINDOW).bind(after, limits.retentionBatchRows).all<Row>();
        const last = results[results.length - 1];
        if (!last) break;
        after = last.rid;
        const old = results.filter((r) => r.created_at < cutoff);
        if (old.length === 0) break;
        if (limits.retentionArchive && bucket) {
          const stored = await archive(bucket, old);
          report.archived += stored;
          calls += stored;
        }
        calls++;
        const deleted = await db
          .prepare(DELETE_ROWS)
          .bind(JSON.stringify(old.map((r) => r.rid)))
          .run();
        metrics.d1Batch("retention", shard, 1, [deleted]);
        report.batches++;
        report.deleted += old.length;
      }
    } catch (err) {
      report.error = describeError(err).message;
      log("error", "retention_failed", { shard, ...describeError(err) });
    }
  }
  log("info", "retention_done", { cutoff, shards: reports });
  return reports;
}
