import type { InboxEvent } from "../../protocol/frames";
import { readState } from "../../views";
import type { AlarmSchedule } from "./alarm";
import type { RoomState } from "./state";
import type { RoomStorage } from "./storage";
import type { Clock } from "./throttles";

/** The members' inbox objects, as the room reaches them. */
export interface Inboxes {
  /** Frames already serialized (each one an InboxEvent), sent as they are. */
  deliver(userId: string, frames: string[]): Promise<void>;
  notify(userId: string, events: InboxEvent[]): Promise<void>;
}

/** The meta flag that says every member's inbox is due a notice (storage keeps it across evictions). */
const NOTIFY_ALL = "notify_all";

/**
 * Tells the members' inboxes about activity, coalesced: at most one notice per room per window
 * (INBOX_NOTIFY_WINDOW_MS, and at least 2 ms per member for large groups), with the latest state,
 * sent by the alarm. Who is due a notice is in storage, so an eviction loses none; after a wake-up
 * the due time is unknown and the pending notices go at once.
 */
export class InboxNotifier {
  /** Every member is due a notice: the storage flag, mirrored here so the hot path does not read it. */
  private all: boolean;
  private dueAt: number | null = null;

  constructor(
    private readonly store: RoomStorage,
    private readonly state: RoomState,
    private readonly inboxes: Inboxes,
    private readonly alarm: AlarmSchedule,
    private readonly windowMs: number,
    private readonly now: Clock = Date.now,
  ) {
    this.all = store.readFlag(NOTIFY_ALL) === "1";
  }

  /** Marks every member as due a notice, without scheduling it (safe inside a transaction). */
  markAll(): void {
    if (this.all) return;
    this.store.writeFlag(NOTIFY_ALL, "1");
    this.all = true;
  }

  /** Marks these inboxes (or all) as due a notice, sent at the end of the current window. */
  queue(who: "all" | string[]): void {
    if (who === "all") this.markAll();
    else for (const id of who) this.store.addInboxPending(id);
    // A large group waits longer between notices: at least 2 ms per member, so a 500-member room
    // makes at most one call per member per second however busy it is.
    const window = Math.max(this.windowMs, who === "all" ? 2 * this.state.activeCount : 0);
    this.dueAt ??= this.now() + window;
    this.alarm.request(this.dueAt);
  }

  /** The alarm's part: sends the notices once their window has passed, or asks to be woken then. */
  async sendIfDue(): Promise<void> {
    if (this.dueAt !== null && this.now() < this.dueAt) {
      this.alarm.request(this.dueAt);
      return;
    }
    this.dueAt = null;
    const pending = this.store.takeInboxPending();
    const all = this.all;
    if (!all && pending.length === 0) return;
    this.all = false;
    this.store.writeFlag(NOTIFY_ALL, null);
    await this.sendUpdates(all ? this.state.activeMemberIds() : pending);
  }

  /**
   * Members' views differ only in their read state: the shared part is serialized once and each
   * member's frame is finished with two numbers. The inbox receives a ready frame, not an object to
   * clone and serialize again (this loop was a fifth of a 500-member room's CPU).
   */
  private async sendUpdates(userIds: string[]): Promise<void> {
    const shared = this.state.sharedView(true);
    const { lastSeq } = shared;
    const head = `{"type":"conversation.updated","conversation":${JSON.stringify(shared).slice(0, -1)}`;
    await Promise.allSettled(
      userIds.map((userId) => {
        const member = this.state.members.get(userId);
        if (!member?.active) return Promise.resolve();
        const { unreadCount, lastReadSeq } = readState(lastSeq, member.lastReadSeq);
        return this.inboxes.deliver(userId, [
          `${head},"unreadCount":${unreadCount},"lastReadSeq":${lastReadSeq}}}`,
        ]);
      }),
    );
  }

  /** Sends `conversation.created` to these members' inboxes (a new conversation, or new members). */
  async announceCreated(userIds: string[]): Promise<void> {
    const shared = this.state.sharedView(false);
    await Promise.allSettled(
      userIds.map((userId) => {
        const member = this.state.members.get(userId);
        if (!member?.active) return Promise.resolve();
        return this.inboxes.notify(userId, [
          { type: "conversation.created", conversation: this.state.viewFor(member, shared) },
        ]);
      }),
    );
  }

  /** Tells one user's inbox the conversation left it (they left, or hid it). */
  async announceRemoved(userId: string): Promise<void> {
    await this.inboxes.notify(userId, [{ type: "conversation.removed", conversationId: this.state.id }]);
  }
}

/** The members' inbox objects, one per user (UserInbox). */
export function userInboxes(env: Env): Inboxes {
  return {
    deliver: (userId, frames) => env.USER_INBOX.getByName(userId).deliver(frames),
    notify: (userId, events) => env.USER_INBOX.getByName(userId).notify(events),
  };
}
