import { everyConversationId, markUserDeleted } from "../../db/accounts";
import { openDb } from "../../db/client";
import { unwrapRpc } from "../../errors";
import { describeError, log } from "../../log";
import type { InboxAlarm } from "./alarm";

/** What the deletion asks of the directory and of the rooms (db/accounts.ts and room/erasure.ts). */
export interface ErasureTargets {
  markDeleted(userId: string, deletedAt: string): Promise<void>;
  /** Conversation ids the user was ever in, in id order after `after`. */
  conversations(userId: string, limit: number, after: string): Promise<string[]>;
  /** One bounded step of erasing the user in a room; done once nothing of theirs is left there. */
  eraseIn(conversationId: string, userId: string, maxMessages: number): Promise<{ done: boolean }>;
}

export function erasureTargets(env: Env): ErasureTargets {
  return {
    markDeleted: (userId, deletedAt) => markUserDeleted(openDb(env.DB), userId, deletedAt),
    conversations: (userId, limit, after) => everyConversationId(openDb(env.DB), userId, limit, after),
    eraseIn: async (id, userId, max) =>
      unwrapRpc(await env.CONVERSATION_ROOM.getByName(id).eraseMember(userId, max)),
  };
}

export interface ErasureSettings {
  /** ACCOUNT_ERASE_ROOMS_PER_STEP, ACCOUNT_ERASE_MESSAGES_PER_ROOM, ACCOUNT_ERASE_RETRY_MS. */
  roomsPerStep: number;
  messagesPerRoom: number;
  retryMs: number;
}

/** Where the deletion stands: the directory's row, then collecting the rooms, then visiting them. */
type Phase = "directory" | "collect" | "rooms" | "done";

/** The `meta` rows of a deleted account (in the inbox's own SQLite). */
const DELETED_AT = "account_deleted_at";
const PHASE = "account_erase_phase";
const CURSOR = "account_erase_cursor";

/** Conversation ids read from the directory per step while collecting. */
const COLLECT_PAGE = 500;

interface Flags {
  readFlag(key: string): string | null;
  writeFlag(key: string, value: string | null): void;
}

/**
 * An account's deletion, driven by the user's own inbox object: one per user, so a deletion touches
 * no shared object, and its alarm is a durable retry. `begin` records it (from then on the account
 * is deleted: tokens are refused, see auth/credentials.ts); each `step` then does a bounded part of
 * the rest and the alarm runs the next until done:
 *
 * 1. the directory: the user's row becomes "Deleted user" (email free, no password), blocks go;
 * 2. the rooms to visit: every conversation the directory has them in (left ones too), besides the
 *    ones their inbox listed (it knows new ones first), COLLECT_PAGE per step;
 * 3. the rooms, ACCOUNT_ERASE_ROOMS_PER_STEP at a time, each until it answers done (room/erasure.ts:
 *    sockets closed, "Deleted user", out of groups, messages tombstones).
 *
 * Every part is idempotent, so a step that fails midway is simply run again (after
 * ACCOUNT_ERASE_RETRY_MS): what it did stays done, the rest converges. A room that fails waits
 * behind the others rather than holding them up.
 */
export class AccountErasure {
  /**
   * The deletion time (null: none), once read: only `begin` writes it, so a live account's answer
   * is kept too (every authenticated request and every notice a room sends asks for it).
   */
  private deletedAtMs: number | null | undefined = undefined;
  /** The step under way: the request's and the alarm's never run side by side. */
  private running: Promise<void> | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly flags: Flags,
    private readonly userId: string,
    private readonly targets: ErasureTargets,
    private readonly alarm: InboxAlarm,
    private readonly settings: ErasureSettings,
  ) {}

  /** When the user deleted their account (ms), or null while it exists. */
  deletedAt(): number | null {
    if (this.deletedAtMs === undefined) {
      const value = this.flags.readFlag(DELETED_AT);
      this.deletedAtMs = value === null ? null : Number(value);
    }
    return this.deletedAtMs;
  }

  /**
   * Records the deletion with the rooms already known (the inbox's rows, most recent activity
   * first: the conversations open on the user's screens are visited, their sockets closed, before
   * the answer); false if it was recorded before (the first time stays). The caller wipes the rest
   * of the inbox in the same turn.
   */
  begin(at: number, known: readonly string[]): boolean {
    if (this.deletedAt() !== null) return false;
    // Read again after a failure: the flag may be stored even if what follows it was not.
    this.deletedAtMs = undefined;
    this.flags.writeFlag(DELETED_AT, String(at));
    this.flags.writeFlag(PHASE, "directory");
    this.track(known);
    this.deletedAtMs = at;
    return true;
  }

  /**
   * Conversations heard of after the deletion began (a notice from a room the directory did not
   * list yet): visited too. One already visited is not visited again.
   */
  track(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const cursor = this.sql.exec(
      "INSERT OR IGNORE INTO erase_rooms (conversation_id) SELECT value FROM json_each(?)",
      JSON.stringify(ids),
    );
    if (cursor.rowsWritten > 0 && this.phase() === "done") {
      this.flags.writeFlag(PHASE, "rooms");
      void this.alarm.request(Date.now());
    }
  }

  /** The alarm's clock: the next step while the deletion is not done. */
  async due(): Promise<void> {
    const phase = this.phase();
    if (phase !== null && phase !== "done") await this.step();
  }

  /**
   * One bounded step: each phase at most once, in order, as far as it gets. Never throws: a failure
   * is logged and the alarm tries again; otherwise the alarm comes back at once while work remains.
   */
  step(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    let failed = false;
    try {
      if (this.phase() === "directory") {
        const at = this.deletedAt() ?? Date.now();
        await this.targets.markDeleted(this.userId, new Date(at).toISOString());
        this.flags.writeFlag(PHASE, "collect");
      }
      if (this.phase() === "collect") await this.collect();
      if (this.phase() === "rooms") failed = await this.visitRooms();
    } catch (err) {
      failed = true;
      log("warn", "account_erase_failed", {
        userId: this.userId,
        phase: this.phase(),
        ...describeError(err),
      });
    }
    const phase = this.phase();
    if (phase === "done") return;
    await this.alarm.request(Date.now() + (failed ? this.settings.retryMs : 0));
  }

  private phase(): Phase | null {
    const value = this.flags.readFlag(PHASE);
    return value === "directory" || value === "collect" || value === "rooms" || value === "done"
      ? value
      : null;
  }

  /** One page of the directory's conversations of the user. */
  private async collect(): Promise<void> {
    const after = this.flags.readFlag(CURSOR) ?? "";
    const ids = await this.targets.conversations(this.userId, COLLECT_PAGE, after);
    this.track(ids);
    const last = ids.at(-1);
    if (ids.length < COLLECT_PAGE || last === undefined) {
      this.flags.writeFlag(CURSOR, null);
      this.flags.writeFlag(PHASE, "rooms");
    } else {
      this.flags.writeFlag(CURSOR, last);
    }
  }

  /**
   * Visits the next rooms at once (those that failed before go last). True when the next step must
   * wait: a room failed and only rooms that failed before are left. Done when no room is left.
   */
  private async visitRooms(): Promise<boolean> {
    const ids = this.sql
      .exec<{ conversation_id: string }>(
        "SELECT conversation_id FROM erase_rooms WHERE done = 0 ORDER BY attempts, rowid LIMIT ?",
        this.settings.roomsPerStep,
      )
      .toArray()
      .map((r) => r.conversation_id);
    const outcomes = await Promise.allSettled(
      ids.map((id) => this.targets.eraseIn(id, this.userId, this.settings.messagesPerRoom)),
    );
    let failed = false;
    outcomes.forEach((outcome, i) => {
      const id = ids[i];
      if (id === undefined) return;
      if (outcome.status === "fulfilled") {
        if (outcome.value.done)
          this.sql.exec("UPDATE erase_rooms SET done = 1 WHERE conversation_id = ?", id);
        return;
      }
      failed = true;
      this.sql.exec("UPDATE erase_rooms SET attempts = attempts + 1 WHERE conversation_id = ?", id);
      log("warn", "account_erase_room_failed", {
        userId: this.userId,
        conversationId: id,
        ...describeError(outcome.reason),
      });
    });
    const next = this.sql
      .exec<{ attempts: number }>(
        "SELECT attempts FROM erase_rooms WHERE done = 0 ORDER BY attempts, rowid LIMIT 1",
      )
      .toArray()[0];
    if (next === undefined) {
      this.flags.writeFlag(PHASE, "done");
      log("info", "account_erased", { userId: this.userId });
    }
    return failed && next !== undefined && next.attempts > 0;
  }
}
