import { openHistory } from "../../db/client";
import {
  shardMessageById,
  shardMessagesAfter,
  shardMessagesBefore,
  shardMessagesBySender,
} from "../../db/history";
import { shardDb } from "../../db/shards";
import { ApiError } from "../../errors";
import { describeError, log } from "../../log";
import type { HistoryQuery } from "../../protocol/requests";
import type { HistoryPage } from "../../protocol/responses";
import type { OutboxLog } from "./outbox-log";
import type { RoomState } from "./state";
import type { RoomStorage, StoredMessage } from "./storage";

/** The conversation's history in its shard, as the room reads it. */
export interface ShardHistory {
  /** after < seq < below, ascending, at most `limit`. */
  after(after: number, below: number, limit: number): Promise<StoredMessage[]>;
  /** The `limit` closest below `before`, ascending. */
  before(before: number, limit: number): Promise<StoredMessage[]>;
  byId(id: string): Promise<StoredMessage | null>;
  /** One sender's messages that are not tombstones, after < seq < below, ascending, at most `limit`. */
  bySender(senderId: string, after: number, below: number, limit: number): Promise<StoredMessage[]>;
}

/** The shard a room's meta names, through its D1 binding. */
export function shardHistory(env: Env, state: RoomState): ShardHistory {
  const db = () => {
    const shard = state.requireMeta().shard;
    if (!shard) throw new Error(`conversation ${state.id} has no history shard`);
    return openHistory(shardDb(env, shard));
  };
  return {
    after: (after, below, limit) => shardMessagesAfter(db(), state.id, after, below, limit),
    before: (before, limit) => shardMessagesBefore(db(), state.id, before, limit),
    byId: (id) => shardMessageById(db(), state.id, id),
    bySender: (senderId, after, below, limit) =>
      shardMessagesBySender(db(), state.id, senderId, after, below, limit),
  };
}

/**
 * History as clients read it, one seq line whatever holds it: the room's own log for its tail (an
 * acknowledged message is in the very next read, whatever D1's state), the shard for what is older
 * than the tail (ROOM_LOG_TAIL; the log keeps everything when it is 0 and the shard is never read).
 * Below the tail, a message the log holds again (put back to be edited) is newer than the shard's.
 */
export class RoomHistory {
  constructor(
    private readonly store: RoomStorage,
    private readonly outboxLog: OutboxLog,
    private readonly state: RoomState,
    private readonly shard: ShardHistory,
  ) {}

  /** One page of history as `viewer` sees it; without a cursor, the latest page. */
  async page(query: HistoryQuery, viewer: string | null = null): Promise<HistoryPage> {
    const { limit } = query;
    const view = (m: StoredMessage) => this.state.messageView(m, viewer);
    if (query.after !== undefined) {
      const { older, recent } = await this.after(query.after, limit + 1);
      const rows = [...older, ...recent()];
      return { messages: rows.slice(0, limit).map(view), hasMore: rows.length > limit };
    }
    const rows = await this.before(query.before ?? this.state.lastSeq + 1, limit + 1);
    return {
      messages: rows.slice(Math.max(0, rows.length - limit)).map(view),
      hasMore: rows.length > limit,
    };
  }

  /**
   * Messages with seq > `after`, ascending, at most `limit`, in two parts: what is older than the
   * tail, read from the shard now, and `recent()`, which reads the log when called. A socket's
   * replay calls it in the same turn as it starts delivering, so nothing committed between the two
   * is missed or sent twice.
   */
  async after(
    after: number,
    limit: number,
  ): Promise<{ older: StoredMessage[]; recent: () => StoredMessage[] }> {
    for (;;) {
      const floor = this.outboxLog.trimmedBelow();
      if (after + 1 >= floor) return { older: [], recent: () => this.store.messagesAfter(after, limit) };
      const older = await this.fromShard(() => this.shard.after(after, floor, limit));
      // The log dropped more while the shard answered: what it dropped is in the shard; read again.
      if (this.outboxLog.trimmedBelow() !== floor) continue;
      const rows = this.overlay(older);
      const rest = limit - rows.length;
      return {
        older: rows,
        recent: () => (rest > 0 ? this.store.messagesAfter(floor - 1, rest) : []),
      };
    }
  }

  /** The `limit` messages closest below `before`, ascending. */
  async before(before: number, limit: number): Promise<StoredMessage[]> {
    const floor = this.outboxLog.trimmedBelow();
    const recent = before > floor ? this.store.messagesBefore(before, limit, floor) : [];
    if (recent.length >= limit || floor <= 1) return recent;
    const older = await this.fromShard(() =>
      this.shard.before(Math.min(before, floor), limit - recent.length),
    );
    return [...this.overlay(older), ...recent];
  }

  /**
   * Makes sure the log holds this message if the conversation has it, so an edit or a delete of a
   * message older than the tail acts on it like on any other.
   */
  async ensureLocal(messageId: string): Promise<void> {
    if (this.outboxLog.trimmedBelow() <= 1 || this.store.messageById(messageId)) return;
    const found = await this.fromShard(() => this.shard.byId(messageId));
    if (found && !this.store.messageById(messageId)) this.store.restoreMessage(found);
  }

  /**
   * One sender's messages in the shard that are not tombstones, after < seq < below (an account's
   * deletion reads what is older than the tail with it).
   */
  bySender(senderId: string, after: number, below: number, limit: number): Promise<StoredMessage[]> {
    return this.fromShard(() => this.shard.bySender(senderId, after, below, limit));
  }

  /** Shard rows, each replaced by the log's version where the log holds that seq again. */
  private overlay(rows: StoredMessage[]): StoredMessage[] {
    const first = rows[0];
    const last = rows[rows.length - 1];
    if (!first || !last) return rows;
    const local = new Map(this.store.messagesInRange(first.seq, last.seq).map((m) => [m.seq, m]));
    return local.size === 0 ? rows : rows.map((m) => local.get(m.seq) ?? m);
  }

  /** A shard that fails makes older history a clear 503, not a 500: the request can be retried. */
  private async fromShard<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      log("warn", "shard_read_failed", { conversationId: this.state.id, ...describeError(err) });
      throw new ApiError("unavailable", "Older history is unavailable right now; try again", {
        retryAfterSeconds: 5,
      });
    }
  }
}
