import type { HistoryBatch, HistoryBatchBuilder } from "../../db/mirror";
import type { DirtyReaction } from "./extra-rows";
import { MESSAGE_COLUMNS, num, toMessage } from "./message-rows";
import type { RoomStorage } from "./storage";

/** A history batch taken from the log, with what to mark once the shard has it. */
export interface PendingHistory {
  batch: HistoryBatch;
  /** The high-water mark once applied: every seq up to it is in the shard. */
  mark: number;
  /** Changed rows the batch carries, at the revision it read. */
  changed: [seq: number, rev: number][];
  reads: { userId: string; lastReadSeq: number }[];
  /** Reaction rows the batch carries, at the revision it read. */
  reactions: DirtyReaction[];
}

const SYNCED = "outbox_seq";
/** The most rows one sync drops from the log. */
const TRIM_ROWS = 1000;
const TRIMMED = "trimmed_below";

/**
 * What of the room's log the shard does not have yet, and the log's tail. Messages are copied in
 * seq order behind a high-water mark (meta `outbox_seq`); a message changed after it was copied is
 * listed in `outbox_changed` until copied again; read positions carry their own flag (members).
 * Once the shard has a message, the log may drop it if it is older than the tail (ROOM_LOG_TAIL):
 * every seq below meta `trimmed_below` is then read from the shard (history.ts).
 */
export class OutboxLog {
  constructor(private readonly store: RoomStorage) {}

  private metaNumber(key: string): number {
    const value = this.store.readFlag(key);
    return value === null ? 0 : Number(value);
  }

  /** Every seq up to this is in the shard (in the version it had when copied). */
  syncedSeq(): number {
    return this.metaNumber(SYNCED);
  }

  /** Every seq below this is in the shard and gone from the log, unless it was put back (restored). */
  trimmedBelow(): number {
    return this.metaNumber(TRIMMED);
  }

  /** Whether anything is still to copy. */
  hasPending(lastSeq: number): boolean {
    if (this.syncedSeq() < lastSeq) return true;
    const sql = this.store.sql;
    return (
      sql.exec("SELECT 1 FROM outbox_changed LIMIT 1").toArray().length > 0 ||
      sql.exec("SELECT 1 FROM members WHERE read_dirty = 1 LIMIT 1").toArray().length > 0 ||
      this.store.extras.hasDirtyReactions()
    );
  }

  /**
   * The next batch, filled in this order until the builder's caps: read positions and reactions
   * (small, and nobody should wait for them behind a backlog), messages changed after they were
   * copied, then new messages in seq order (the mark only moves over a gapless run).
   */
  next(builder: HistoryBatchBuilder, maxRows: number): PendingHistory | null {
    const sql = this.store.sql;
    const mark = this.syncedSeq();
    const reads: PendingHistory["reads"] = [];
    for (const r of this.store.dirtyReads()) {
      if (!builder.addRead(r)) break;
      reads.push(r);
    }
    const reactions: DirtyReaction[] = [];
    for (const r of this.store.extras.dirtyReactions(maxRows)) {
      if (!builder.addReaction(r)) break;
      reactions.push(r);
    }
    const changed: PendingHistory["changed"] = [];
    const changedRows = sql
      .exec(
        `SELECT c.seq AS changed_seq, c.rev, ${MESSAGE_COLUMNS.split(", ")
          .map((col) => `m.${col}`)
          .join(", ")}
         FROM outbox_changed AS c LEFT JOIN messages AS m ON m.seq = c.seq
         WHERE c.seq <= ? ORDER BY c.seq LIMIT ?`,
        mark,
        maxRows,
      )
      .toArray();
    let full = false;
    for (const row of changedRows) {
      const entry: [number, number] = [num(row.changed_seq), num(row.rev)];
      // A listed row the log no longer has cannot be copied; its entry just goes.
      if (row.id !== null && !builder.addMessage(toMessage(row))) {
        full = true;
        break;
      }
      changed.push(entry);
    }
    let next = mark;
    if (!full) {
      const fresh = sql
        .exec(
          `SELECT ${MESSAGE_COLUMNS}, c.rev FROM messages LEFT JOIN outbox_changed AS c USING (seq)
           WHERE seq > ? ORDER BY seq LIMIT ?`,
          mark,
          maxRows,
        )
        .toArray();
      for (const row of fresh) {
        const m = toMessage(row);
        if (m.seq !== next + 1 || !builder.addMessage(m)) break;
        next = m.seq;
        // Copied in its current version: a change listed before this read is included.
        if (row.rev !== null) changed.push([m.seq, num(row.rev)]);
      }
    }
    const batch = builder.build();
    if (!batch) return changed.length > 0 ? { batch: EMPTY, mark, changed, reads, reactions } : null;
    return { batch, mark: next, changed, reads, reactions };
  }

  /**
   * Records that the shard has a batch, and drops from the log what the tail no longer needs:
   * messages that are copied, unchanged since, and more than `tail` behind the latest (0: none).
   */
  synced(pending: PendingHistory, lastSeq: number, tail: number): void {
    const sql = this.store.sql;
    this.store.transaction(() => {
      if (pending.mark > this.syncedSeq()) this.store.writeFlag(SYNCED, String(pending.mark));
      if (pending.changed.length > 0) {
        sql.exec(
          `DELETE FROM outbox_changed WHERE rowid IN (
             SELECT c.rowid FROM json_each(?) AS j JOIN outbox_changed AS c
             ON c.seq = j.value ->> 0 AND c.rev = j.value ->> 1)`,
          JSON.stringify(pending.changed),
        );
      }
      for (const r of pending.reads) this.store.markReadSynced(r.userId, r.lastReadSeq);
      this.store.extras.reactionsSynced(pending.reactions);
      if (tail <= 0) return;
      const below = Math.min(this.syncedSeq() + 1, lastSeq - tail + 1);
      if (below <= this.trimmedBelow()) return;
      // At most TRIM_ROWS oldest rows per batch: a tail set on a room with a long log shortens it
      // over many small transactions, not one huge one.
      const span = sql
        .exec(
          `SELECT max(seq) AS top, count(*) AS n FROM (SELECT seq FROM messages
             WHERE seq < ? AND seq NOT IN (SELECT seq FROM outbox_changed) ORDER BY seq LIMIT ?)`,
          below,
          TRIM_ROWS,
        )
        .one();
      const n = num(span.n);
      if (n > 0) {
        sql.exec(
          "DELETE FROM messages WHERE seq <= ? AND seq NOT IN (SELECT seq FROM outbox_changed)",
          num(span.top),
        );
      }
      this.store.writeFlag(TRIMMED, String(n < TRIM_ROWS ? below : num(span.top) + 1));
    });
  }
}

const EMPTY: HistoryBatch = {
  messagesJson: null,
  readsJson: null,
  reactionsJson: null,
  messageCount: 0,
  readCount: 0,
  reactionCount: 0,
  bytes: 0,
  oldestChangeMs: null,
};
