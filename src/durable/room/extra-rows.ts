import type { MirroredReaction } from "../../db/mirror";
import type { ReactionCount } from "../../protocol/models";

/** A reaction row as the outbox copies it, with its revision (bumped by every change). */
export type DirtyReaction = MirroredReaction & { rev: number };

/**
 * The room's SQLite for what a message carries besides its text: the quotes of replies
 * (`messages.reply_quote`), reaction counts (`messages.reaction_counts`) and who reacted with what
 * (table `reactions`, one row per person and emoji). A reaction taken back stays as an inactive
 * row until the shard has the removal, then goes. Changes to a message row are listed in
 * `outbox_changed`, so the shard gets the message again (outbox-log.ts).
 */
export class ExtraRows {
  constructor(private readonly sql: Pick<SqlStorage, "exec">) {}

  /**
   * Rewrites the quotes of the replies to message `id` (edited or deleted) that the log holds.
   * Replies older than the log's tail (ROOM_LOG_TAIL) keep the quote they left it with.
   */
  updateQuotes(id: string, body: string, deletedAt: string | null): void {
    this.sql.exec(
      "UPDATE messages SET reply_quote = json_set(reply_quote, '$.body', ?, '$.deletedAt', ?) WHERE reply_to_id = ?",
      body,
      deletedAt,
      id,
    );
    this.sql.exec(
      `INSERT INTO outbox_changed (seq, rev) SELECT seq, 1 FROM messages WHERE reply_to_id = ?
       ON CONFLICT (seq) DO UPDATE SET rev = rev + 1`,
      id,
    );
  }

  /** Stores a message's reaction counts; the shard gets them with the message row. */
  setCounts(seq: number, counts: readonly ReactionCount[]): void {
    this.sql.exec(
      "UPDATE messages SET reaction_counts = ? WHERE seq = ?",
      counts.length === 0 ? null : JSON.stringify(counts),
      seq,
    );
    this.sql.exec(
      "INSERT INTO outbox_changed (seq, rev) VALUES (?, 1) ON CONFLICT (seq) DO UPDATE SET rev = rev + 1",
      seq,
    );
  }

  /** Whether `userId` has reacted to message `seq` with `emoji`. */
  hasReaction(seq: number, emoji: string, userId: string): boolean {
    return (
      this.sql
        .exec(
          "SELECT 1 FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ? AND active = 1",
          seq,
          emoji,
          userId,
        )
        .toArray().length > 0
    );
  }

  setReaction(seq: number, emoji: string, userId: string, active: boolean, at: string): void {
    this.sql.exec(
      `INSERT INTO reactions (seq, emoji, user_id, created_at, active) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (seq, emoji, user_id) DO UPDATE SET active = excluded.active,
         created_at = excluded.created_at, rev = rev + 1, dirty = 1`,
      seq,
      emoji,
      userId,
      at,
      active ? 1 : 0,
    );
  }

  /** The emoji `userId` reacted with on messages `from`..`to` (seq), by seq. */
  myReactions(userId: string, from: number, to: number): Map<number, string[]> {
    const out = new Map<number, string[]>();
    const rows = this.sql.exec(
      `SELECT seq, emoji FROM reactions WHERE user_id = ? AND seq BETWEEN ? AND ? AND active = 1
       ORDER BY seq, created_at`,
      userId,
      from,
      to,
    );
    for (const r of rows) {
      const seq = Number(r.seq);
      const list = out.get(seq) ?? [];
      list.push(String(r.emoji));
      out.set(seq, list);
    }
    return out;
  }

  /** Whether any reaction row is still to copy. */
  hasDirtyReactions(): boolean {
    return this.sql.exec("SELECT 1 FROM reactions WHERE dirty = 1 LIMIT 1").toArray().length > 0;
  }

  /** Reaction rows the shard does not have in their latest state, with their revision. */
  dirtyReactions(limit: number): DirtyReaction[] {
    return this.sql
      .exec(
        "SELECT seq, emoji, user_id, created_at, active, rev FROM reactions WHERE dirty = 1 LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({
        seq: Number(r.seq),
        emoji: String(r.emoji),
        userId: String(r.user_id),
        createdAt: String(r.created_at),
        active: Number(r.active) === 1,
        rev: Number(r.rev),
      }));
  }

  /**
   * The shard has these rows: their flags are cleared (unless they changed again since) and
   * removals it has applied are forgotten.
   */
  reactionsSynced(rows: readonly DirtyReaction[]): void {
    if (rows.length === 0) return;
    const keys = JSON.stringify(rows.map((r) => [r.seq, r.emoji, r.userId, r.rev]));
    this.sql.exec(
      `UPDATE reactions SET dirty = 0 FROM json_each(?) AS j
       WHERE reactions.seq = j.value ->> 0 AND reactions.emoji = j.value ->> 1
         AND reactions.user_id = j.value ->> 2 AND reactions.rev = j.value ->> 3`,
      keys,
    );
    this.sql.exec(
      `DELETE FROM reactions WHERE active = 0 AND dirty = 0 AND (seq, emoji, user_id) IN (
         SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?))`,
      keys,
    );
  }
}
