import { openDb } from "../../db/client";
import { activeConversationIds } from "../../db/conversations";
import { describeError, log } from "../../log";
import { roomOf } from "../room/stub";
import type { InboxNotice } from "./notice";
import type { InboxRows } from "./rows";

/** Set once the inbox has every conversation of the directory: it never asks D1 again. */
const DONE = "backfilled_at";
/** The last conversation id of the directory's pages already filled in (resumes an interrupted fill). */
const AFTER = "backfill_after";
/** Conversation ids read from the directory per query. */
const PAGE = 100;

export interface BackfillSource {
  /** The user's conversations in the directory (D1 participants), in id order after `after`. */
  conversationIds(after: string, limit: number): Promise<string[]>;
  /** The user's notice as their conversation's room has it now; null if they never were a member. */
  notice(conversationId: string): Promise<InboxNotice | null>;
}

/**
 * Inboxes from before the inbox kept rows (or of a deployment upgraded to it) fill themselves once:
 * the directory names the user's conversations, each room tells the user's view of it (never D1's
 * `last_seq`/`updated_at`, which the rooms stop writing per message), at most `concurrency` rooms
 * at a time. The notices go through the same monotonic `apply` as live ones, so notices arriving
 * meanwhile are never overwritten by an older view. Progress is stored page by page and the marker
 * only at the end: a fill that was interrupted (eviction, a failing room or D1) resumes where it
 * stopped on the next listing, and repeating a page changes nothing.
 */
export class Backfill {
  private running: Promise<void> | null = null;

  constructor(
    private readonly rows: InboxRows,
    private readonly source: BackfillSource,
    private readonly apply: (notice: InboxNotice) => void,
    private readonly concurrency: number,
  ) {}

  get done(): boolean {
    return this.rows.readFlag(DONE) !== null;
  }

  /** Resolves once the inbox is filled (at once when it was); callers meanwhile share one fill. */
  ensure(): Promise<void> {
    if (this.done) return Promise.resolve();
    this.running ??= this.run()
      .catch((err: unknown) => {
        log("warn", "inbox_backfill_failed", { ...describeError(err) });
        throw err;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async run(): Promise<void> {
    let after = this.rows.readFlag(AFTER) ?? "";
    for (;;) {
      const ids = await this.source.conversationIds(after, PAGE);
      await eachLimited(ids, this.concurrency, async (id) => {
        const notice = await this.source.notice(id);
        if (notice) this.apply(notice);
      });
      const last = ids[ids.length - 1];
      if (ids.length < PAGE || last === undefined) break;
      after = last;
      this.rows.writeFlag(AFTER, after);
    }
    this.rows.writeFlag(DONE, new Date().toISOString());
    this.rows.writeFlag(AFTER, null);
  }
}

/** The production source: D1's directory and the conversations' rooms. */
export function directorySource(env: Env, userId: string): BackfillSource {
  return {
    conversationIds: (after, limit) => activeConversationIds(openDb(env.DB), userId, limit, after),
    notice: (conversationId) => roomOf(env, conversationId).inboxNotice(userId),
  };
}

/** Runs `fn` over `items` with at most `limit` calls under way; rejects with the first failure. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let item = items[next++]; item !== undefined; item = items[next++]) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
