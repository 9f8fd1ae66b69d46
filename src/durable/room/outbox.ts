import { type HistoryBatch, HistoryBatchBuilder, type MembershipBatch } from "../../db/mirror";
import { describeError, log } from "../../log";
import type { AlarmSchedule } from "./alarm";
import type { OutboxLog } from "./outbox-log";
import type { RoomState } from "./state";
import type { RoomStorage } from "./storage";
import type { Clock } from "./throttles";

/** Where the outbox writes: db/mirror.ts against the directory and the shards in production. */
export interface OutboxWriters {
  /** The conversation's row and participants, to the directory. */
  membership(conversationId: string, batch: MembershipBatch): Promise<void>;
  /** Messages and read positions, to the conversation's shard (a D1 binding name). */
  history(shard: string, conversationId: string, batch: HistoryBatch): Promise<void>;
}

export interface OutboxSettings {
  /** OUTBOX_FLUSH_MS: at most one history batch per this interval, with whatever was written meanwhile. */
  flushMs: number;
  /** OUTBOX_RETRY_MS: the next attempt after D1 failed. */
  retryMs: number;
  /** REST_MIRROR_WAIT_MS: the longest a REST write waits for its copy. */
  restWaitMs: number;
  /** D1_BATCH_MAX_BYTES, D1_BATCH_MAX_ROWS: the caps of one history batch. */
  batchMaxBytes: number;
  batchMaxRows: number;
  /** ROOM_LOG_TAIL: messages the log keeps once the shard has them (0: all). */
  logTail: number;
}

/**
 * The room's outbox to D1. Everything the room stores is durable in its own SQLite first; the
 * outbox copies it in two kinds of batch. Membership (rare) goes to the directory; history goes to
 * the conversation's shard, at most one batch per OUTBOX_FLUSH_MS however busy the room is, capped
 * in bytes and rows, carrying read positions with the messages. A shard's batch waits until the
 * directory has the conversation's row (a conversation's history never precedes it). A failed copy
 * is retried on the alarm; every statement is an idempotent upsert, so a retry of a batch D1
 * already applied duplicates nothing, and a failing shard holds up only its own rooms.
 */
export class Outbox {
  private running: Promise<void> | null = null;
  /** Whether membership rows may be dirty; unknown after a wake-up, so the first pass looks. */
  private membershipDirty = true;
  /** When the next history batch may go. */
  private nextSlot = 0;

  constructor(
    private readonly state: RoomState,
    private readonly store: RoomStorage,
    private readonly pending: OutboxLog,
    private readonly writers: OutboxWriters,
    private readonly alarm: AlarmSchedule,
    private readonly settings: OutboxSettings,
    /** Keeps the object alive until a pass started off the request path has finished. */
    private readonly waitUntil: (pass: Promise<void>) => void,
    private readonly now: Clock = Date.now,
  ) {}

  /** Socket writes: copied within OUTBOX_FLUSH_MS, with whatever else is written meanwhile. */
  queue(): void {
    this.alarm.request(Math.max(this.now() + this.settings.flushMs, this.nextSlot));
  }

  /** The conversation or a member changed: the next pass copies membership too. */
  membershipChanged(): void {
    this.membershipDirty = true;
  }

  /**
   * Copies what is stored (the alarm's part): membership, and one history batch if its slot has
   * come (else the alarm is asked for the slot). A failure asks the alarm for a retry.
   */
  async flush(): Promise<void> {
    if (this.running) await this.running;
    await this.start(false);
  }

  /**
   * REST writes answer once D1 has the change, so REST clients read their writes; such a write
   * waits for the next slot rather than adding a batch. But never longer than REST_MIRROR_WAIT_MS:
   * the change is durable in the room already, and a slow D1 must not hold a request open.
   */
  async flushForRest(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.restWaitMs);
    });
    const copy = (async () => {
      if (this.running) await this.running;
      await this.start(true);
    })();
    try {
      await Promise.race([copy, timeout]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** Starts a pass unless one is running; never delays the caller. */
  private start(waitForSlot: boolean): Promise<void> {
    if (!this.running) {
      this.running = this.pass(waitForSlot).finally(() => {
        this.running = null;
      });
      this.waitUntil(this.running);
    }
    return this.running;
  }

  private async pass(waitForSlot: boolean): Promise<void> {
    await this.copyMembership();
    const meta = this.state.meta;
    if (!meta?.shard || this.store.readFlag(CONVERSATION_DIRTY) === "1") return;
    if (!this.pending.hasPending(this.state.lastSeq)) return;
    const wait = this.nextSlot - this.now();
    if (wait > 0) {
      if (!waitForSlot) {
        this.alarm.request(this.nextSlot);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const { batchMaxBytes, batchMaxRows, flushMs, retryMs, logTail } = this.settings;
    const next = this.pending.next(new HistoryBatchBuilder(batchMaxBytes, batchMaxRows), batchMaxRows);
    if (!next) return;
    // Taken now, so writes arriving while this batch is on its way wait for the next slot. A batch
    // that fails gives it back: the retry is the alarm's (OUTBOX_RETRY_MS).
    this.nextSlot = this.now() + flushMs;
    try {
      await this.writers.history(meta.shard, this.state.id, next.batch);
    } catch (err) {
      this.nextSlot = 0;
      log("warn", "d1_mirror_failed", {
        conversationId: this.state.id,
        shard: meta.shard,
        pending: next.batch.messageCount,
        ...describeError(err),
      });
      this.alarm.request(this.now() + retryMs);
      return;
    }
    this.pending.synced(next, this.state.lastSeq, logTail);
    if (this.pending.hasPending(this.state.lastSeq)) this.alarm.request(this.nextSlot);
  }

  /** Copies the conversation's row and changed participants to the directory, if any. */
  private async copyMembership(): Promise<void> {
    if (!this.membershipDirty) return;
    let conversation: MembershipBatch["conversation"] = null;
    const meta = this.store.readFlag(CONVERSATION_DIRTY) === "1" ? this.state.meta : null;
    if (meta?.shard) {
      const { kind, title, createdBy, createdAt, shard } = meta;
      conversation = { kind, title, directKey: meta.directKey ?? null, createdBy, createdAt, shard };
    }
    const participants = this.store.dirtyMembers();
    if (!conversation && participants.length === 0) {
      this.membershipDirty = false;
      return;
    }
    try {
      await this.writers.membership(this.state.id, { conversation, participants });
    } catch (err) {
      log("warn", "d1_mirror_failed", {
        conversationId: this.state.id,
        directory: true,
        ...describeError(err),
      });
      this.alarm.request(this.now() + this.settings.retryMs);
      return;
    }
    this.store.transaction(() => {
      if (conversation) this.store.writeFlag(CONVERSATION_DIRTY, null);
      this.store.markMembersSynced(participants);
    });
  }
}

/** The meta flag of a room whose conversation row (or its shard) the directory does not have yet. */
export const CONVERSATION_DIRTY = "conversation_dirty";
