import type { MirrorBatch } from "../../db/mirror";
import { describeError, log } from "../../log";
import type { AlarmSchedule } from "./alarm";
import type { OutboxMessage, RoomStorage } from "./storage";
import type { Clock } from "./throttles";

/** Copies one batch of the room's rows into D1, in one D1 transaction (db/mirror.ts in production). */
export type D1Writer = (conversationId: string, batch: MirrorBatch) => Promise<void>;

export interface OutboxSettings {
  /** OUTBOX_FLUSH_MS: socket writes reach D1 in one batch per this interval. */
  flushMs: number;
  /** OUTBOX_RETRY_MS: the next attempt after D1 failed. */
  retryMs: number;
  /** REST_MIRROR_WAIT_MS: the longest a REST write waits for its copy. */
  restWaitMs: number;
}

const MESSAGES_PER_BATCH = 200;

/**
 * The room's outbox to D1. Everything the room stores is durable in its own SQLite first; rows
 * marked dirty there are copied to D1 in batches, and the flags are cleared only once D1 has them
 * (a row changed again meanwhile stays dirty). A failed copy is retried on the alarm; every D1
 * statement is an idempotent upsert, so a retry of a batch D1 already applied duplicates nothing.
 */
export class Outbox {
  private running: Promise<void> | null = null;
  /** Whether membership rows may be dirty; unknown after a wake-up, so the first pass looks. */
  private membershipDirty = true;

  constructor(
    private readonly conversationId: string,
    private readonly store: RoomStorage,
    private readonly write: D1Writer,
    private readonly alarm: AlarmSchedule,
    private readonly settings: OutboxSettings,
    /** Keeps the object alive until a pass started off the request path has finished. */
    private readonly waitUntil: (pass: Promise<void>) => void,
    private readonly now: Clock = Date.now,
  ) {}

  /** Socket writes: copied within OUTBOX_FLUSH_MS, with whatever else is written meanwhile. */
  queue(): void {
    if (this.running) return; // the running pass loops until nothing is dirty
    this.alarm.request(this.now() + this.settings.flushMs);
  }

  /** The conversation or a member changed: the next pass copies membership too. */
  membershipChanged(): void {
    this.membershipDirty = true;
  }

  /** Copies everything stored so far (or until one attempt failed: the alarm retries). */
  async flush(): Promise<void> {
    if (this.running) await this.running;
    await this.start();
  }

  /**
   * REST writes answer once D1 has the change, so REST clients read their writes in the inbox;
   * but never later than REST_MIRROR_WAIT_MS: the change is durable in the room already, and a
   * slow D1 must not hold a request open (the outbox finishes the copy).
   */
  async flushForRest(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.restWaitMs);
    });
    try {
      await Promise.race([this.flush(), timeout]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** Starts a pass unless one is running; never delays the caller. */
  private start(): Promise<void> {
    if (!this.running) {
      this.running = this.pass().finally(() => {
        this.running = null;
      });
      this.waitUntil(this.running);
    }
    return this.running;
  }

  private async pass(): Promise<void> {
    for (;;) {
      const batch = this.nextBatch();
      if (!batch) return;
      try {
        await this.write(this.conversationId, batch);
      } catch (err) {
        log("warn", "d1_mirror_failed", {
          conversationId: this.conversationId,
          pending: batch.messages.length,
          ...describeError(err),
        });
        this.alarm.request(this.now() + this.settings.retryMs);
        return;
      }
      this.store.transaction(() => {
        if (batch.conversation) this.store.writeFlag(CONVERSATION_DIRTY, null);
        this.store.markMembersSynced(batch.participants);
        this.store.markSynced(batch.messages);
        for (const r of batch.reads) this.store.markReadSynced(r.userId, r.lastReadSeq);
      });
    }
  }

  /** The next rows to copy, or null when D1 has everything. */
  private nextBatch(): (MirrorBatch & { messages: OutboxMessage[] }) | null {
    let conversation: MirrorBatch["conversation"] = null;
    let participants: MirrorBatch["participants"] = [];
    if (this.membershipDirty) {
      const meta = this.store.readFlag(CONVERSATION_DIRTY) === "1" ? this.store.readMeta() : null;
      if (meta) {
        const { kind, title, createdBy, createdAt } = meta;
        conversation = { kind, title, directKey: meta.directKey ?? null, createdBy, createdAt };
      }
      participants = this.store.dirtyMembers();
      if (!conversation && participants.length === 0) this.membershipDirty = false;
    }
    const messages = this.store.dirtyMessages(MESSAGES_PER_BATCH);
    const reads = this.store.dirtyReads();
    if (!conversation && participants.length === 0 && messages.length === 0 && reads.length === 0) {
      return null;
    }
    return { conversation, participants, messages, reads };
  }
}

/** The meta flag of a room whose conversation row D1 does not have yet. */
export const CONVERSATION_DIRTY = "conversation_dirty";
