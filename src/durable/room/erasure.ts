import { DELETED_PROFILE } from "../../db/accounts";
import { CloseCode } from "../../protocol/close-codes";
import type { RoomEvent } from "../../protocol/frames";
import { notFound } from "../../errors";
import type { SocketSet } from "../sockets";
import type { RoomFiles } from "./files";
import type { GroupCommit } from "./group-commit";
import type { RoomHistory } from "./history";
import type { InboxNotifier } from "./inbox-notifier";
import { MESSAGE_COLUMNS, toMessage } from "./message-rows";
import type { Membership } from "./membership";
import type { Outbox } from "./outbox";
import type { OutboxLog } from "./outbox-log";
import type { Publisher } from "./publish";
import type { Signals } from "./signals";
import type { RoomState } from "./state";
import type { MemberRow, RoomStorage, StoredMessage } from "./storage";

/**
 * A member deleted their account (DELETE /api/me): their inbox calls `erase` on every room they were
 * ever in, again and again until it answers done. The first call closes their sockets (4401), gives
 * them the "Deleted user" profile and takes them out of a group (a direct conversation keeps them, so
 * the other person still sees whom they talked to), and their uploads not sent yet are due for
 * deletion. Every call then turns a bounded part of their messages into tombstones, exactly as if
 * they deleted each one (the sockets hear `message.deleted`, the replies' quotes follow, the files
 * are deleted from R2, the outbox copies it to the shard, whose search index drops it).
 *
 * Progress is stored with each call (a meta flag per user), so a call that fails, or a room evicted
 * in between, resumes where it was. The walk goes through the log first, then the shard below the
 * log's tail: a message the log drops meanwhile is then in the shard, where the second part finds
 * it; one the log already passed is a tombstone before it is dropped.
 */

/** Seqs one call looks at, in the log or the shard: what one call reads, however few match. */
const WINDOW = 5000;

interface Progress {
  /** "log": the room's own log; "shard": history older than the tail; then done. */
  part: "log" | "shard" | "done";
  /** Every message of theirs with a seq up to this, in this part, is a tombstone. */
  after: number;
}

/**
 * The version of the "Deleted user" profile (members.profile_version): above any the user's inbox
 * numbers (inbox/profile-sync.ts), so a change of before the deletion that reaches the room late
 * never brings the old profile back.
 */
export const DELETED_PROFILE_VERSION = Number.MAX_SAFE_INTEGER;

/** The meta flag holding a deleted member's progress; it stays once done (the member is erased). */
export const erasedFlag = (userId: string): string => `erased:${userId}`;

export class MemberErasure {
  constructor(
    private readonly deps: {
      store: RoomStorage;
      state: RoomState;
      sockets: SocketSet;
      signals: Pick<Signals, "left">;
      membership: Membership;
      commits: Pick<GroupCommit, "tombstone">;
      publisher: Pick<Publisher, "change" | "commitOpen">;
      notifier: Pick<InboxNotifier, "queue">;
      outbox: Pick<Outbox, "queue" | "flushForRest">;
      log: Pick<OutboxLog, "trimmedBelow">;
      history: Pick<RoomHistory, "bySender">;
      files: Pick<RoomFiles, "dropUploads" | "sweep" | "sweepDone">;
    },
  ) {}

  /** Whether this member deleted their account (they may still be listed, as "Deleted user"). */
  erased(userId: string): boolean {
    return this.deps.store.readFlag(erasedFlag(userId)) !== null;
  }

  /** A member who has not deleted their account, or the 404 of a conversation they are not in. */
  live<T extends { id: string }>(member: T): T {
    if (this.erased(member.id)) throw notFound("Conversation not found");
    return member;
  }

  /**
   * One bounded step (once the room is loaded: `ready`): at most `maxMessages` tombstones and one
   * window of seqs read. Done once every message of theirs is a tombstone in the room (the outbox
   * copies the rest to D1, retried on the room's alarm like every write, as is a deletion of files
   * R2 refused). A room that never had them as a member is done at once.
   */
  async erase(userId: string, maxMessages: number, ready: () => Promise<void>): Promise<{ done: boolean }> {
    await ready();
    this.deps.publisher.commitOpen();
    const { store, state } = this.deps;
    const member = state.members.get(userId);
    if (!state.exists || !member) return { done: true };
    let progress = this.progress(userId);
    if (progress === null) {
      this.leave(member);
      progress = { part: "log", after: 0 };
    }
    if (progress.part === "log") {
      const found = this.logWindow(userId, progress.after, maxMessages);
      for (const m of found) this.tombstone(m);
      const through = found.length >= maxMessages ? (found.at(-1)?.seq ?? 0) : progress.after + WINDOW;
      progress = through >= state.lastSeq ? { part: "shard", after: 0 } : { part: "log", after: through };
    } else if (progress.part === "shard") {
      const below = Math.min(this.deps.log.trimmedBelow(), progress.after + WINDOW + 1);
      const found =
        below - 1 > progress.after
          ? await this.deps.history.bySender(userId, progress.after, below, maxMessages)
          : [];
      // The log holds the rows again (put back like an edit's), so changing them works as usual.
      for (const m of found) {
        store.restoreMessage(m);
        const current = store.messageBySeq(m.seq);
        if (current && current.senderId === userId && current.deletedAt === null) this.tombstone(current);
      }
      const through = found.length >= maxMessages ? (found.at(-1)?.seq ?? 0) : below - 1;
      const end = this.deps.log.trimmedBelow() - 1;
      progress = through >= end ? { part: "done", after: 0 } : { part: "shard", after: through };
    }
    store.writeFlag(erasedFlag(userId), JSON.stringify(progress));
    this.deps.outbox.queue();
    await Promise.all([this.deps.outbox.flushForRest(), this.sweepFiles()]);
    return { done: progress.part === "done" };
  }

  private progress(userId: string): Progress | null {
    const value = this.deps.store.readFlag(erasedFlag(userId));
    return value === null ? null : (JSON.parse(value) as Progress);
  }

  /**
   * Their sockets close (4401: their tokens are void), everyone sees "Deleted user" from now on, a
   * group no longer counts them (the others hear `participant.removed`, webhooks `participant.left`).
   */
  private leave(member: MemberRow): void {
    const { state, sockets, signals, membership, notifier } = this.deps;
    sockets.closeUser(member.id, CloseCode.tokenInvalid, "account deleted");
    signals.left(member.id);
    membership.updateProfile({ id: member.id, ...DELETED_PROFILE }, DELETED_PROFILE_VERSION);
    this.deps.files.dropUploads(member.id);
    this.deps.store.writeFlag(erasedFlag(member.id), JSON.stringify({ part: "log", after: 0 }));
    const current = state.members.get(member.id);
    if (state.requireMeta().kind === "group" && current?.active) {
      membership.leave(current);
      const event: RoomEvent = { type: "participant.removed", userId: member.id, by: member.id };
      sockets.broadcast(JSON.stringify(event));
    }
    notifier.queue("all");
  }

  /** Their messages in the log that are not tombstones, after < seq <= after + WINDOW. */
  private logWindow(userId: string, after: number, limit: number): StoredMessage[] {
    return this.deps.store.sql
      .exec(
        `SELECT ${MESSAGE_COLUMNS} FROM messages
         WHERE seq > ? AND seq <= ? AND sender_id = ? AND deleted_at IS NULL ORDER BY seq LIMIT ?`,
        after,
        after + WINDOW,
        userId,
        limit,
      )
      .toArray()
      .map(toMessage);
  }

  /**
   * The files this step made due (its tombstones', the unsent uploads) deleted from R2 before it
   * answers: the pass a tombstone started may have been too early for the later ones.
   */
  private async sweepFiles(): Promise<void> {
    await this.deps.files.sweepDone();
    await this.deps.files.sweep();
  }

  /** As a deletion by the sender: the sockets, the webhooks and the inboxes hear it (publish.ts). */
  private tombstone(message: StoredMessage): void {
    this.deps.publisher.change(this.deps.commits.tombstone(message), "message.deleted");
  }
}
