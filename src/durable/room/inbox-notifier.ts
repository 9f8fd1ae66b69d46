import { describeError, log } from "../../log";
import { readState } from "../../views";
import type { InboxNotice } from "../inbox/notice";
import type { AlarmSchedule } from "./alarm";
import type { RoomState } from "./state";
import type { RoomStorage } from "./storage";
import type { Clock } from "./throttles";

/** The members' inbox objects, as the room reaches them. */
export interface Inboxes {
  /** Stores the notices in one user's inbox (UserInbox.apply); rejects when the inbox did not take them. */
  apply(userId: string, notices: InboxNotice[]): Promise<void>;
}

export interface NotifierSettings {
  /** INBOX_NOTIFY_WINDOW_MS: at most one notice per member per window. */
  windowMs: number;
  /** INBOX_NOTIFY_MS_PER_MEMBER: the window is at least this long per active member. */
  msPerMember: number;
  /** INBOX_RETRY_MS: a notice an inbox did not take is sent again after this long. */
  retryMs: number;
  /** REST_MIRROR_WAIT_MS: the longest a REST write waits for the caller's inbox. */
  restWaitMs: number;
}

/** The meta flag that says every member's inbox is due a notice (storage keeps it across evictions). */
const NOTIFY_ALL = "notify_all";
/** The meta key of the notice counter: every notice built takes the next number (see notice.ts). */
const NOTICE_VERSION = "inbox_notice_version";

/**
 * Tells the members' inboxes about the conversation, reliably. A notice is the member's whole view
 * at the time it is built, numbered by a counter kept in storage, so notices are idempotent and an
 * inbox keeps only the newest.
 *
 * Activity is coalesced: at most one notice per room per window (INBOX_NOTIFY_WINDOW_MS, and at
 * least INBOX_NOTIFY_MS_PER_MEMBER per member for large groups), sent by the alarm. Who is due a
 * notice is in storage (the notify-all flag, the pending users) and leaves it only once their
 * inbox took the notice: an inbox that failed stays due and the alarm tries again after
 * INBOX_RETRY_MS, with the state of then. An eviction loses nothing; after a wake-up the due time
 * is unknown and the pending notices go at once.
 */
export class InboxNotifier {
  /** Every member is due a notice: the storage flag, mirrored here so the hot path does not read it. */
  private all: boolean;
  private dueAt: number | null = null;
  private version: number | null = null;
  /** A batch is being sent: who was marked due meanwhile must stay due after it. */
  private sending: { again: Set<string>; all: boolean } | null = null;

  constructor(
    private readonly store: RoomStorage,
    private readonly state: RoomState,
    private readonly inboxes: Inboxes,
    private readonly alarm: AlarmSchedule,
    private readonly settings: NotifierSettings,
    /** Keeps the object alive for a notice still under way when a REST call stops waiting for it. */
    private readonly waitUntil: (work: Promise<void>) => void = () => undefined,
    private readonly now: Clock = Date.now,
  ) {
    this.all = store.readFlag(NOTIFY_ALL) === "1";
  }

  /** Marks every member as due a notice, without scheduling it (safe inside a transaction). */
  markAll(): void {
    if (this.sending) this.sending.all = true;
    if (this.all) return;
    this.store.writeFlag(NOTIFY_ALL, "1");
    this.all = true;
  }

  /** Marks these inboxes (or all) as due a notice, sent at the end of the current window. */
  queue(who: "all" | string[]): void {
    if (who === "all") this.markAll();
    // Readers ride with a notice to everyone that is due and not built yet: no row per reader.
    else if (!this.all || this.sending) this.markDue(who);
    // A large group waits longer between notices (INBOX_NOTIFY_MS_PER_MEMBER, 10 ms per member by
    // default), so a 500-member room makes at most one call per member per 5 s however busy it is:
    // every notice is a call to each member's inbox, and a socket in the room shows the messages live.
    const { windowMs, msPerMember } = this.settings;
    const window = Math.max(windowMs, who === "all" ? msPerMember * this.state.activeCount : 0);
    this.wakeAt(this.now() + window);
  }

  /** The alarm's part: sends the notices once their window has passed, or asks to be woken then. */
  async sendIfDue(): Promise<void> {
    if (this.sending) return; // the alarm that is sending them comes back for the rest
    if (this.dueAt !== null && this.now() < this.dueAt) {
      this.alarm.request(this.dueAt);
      return;
    }
    this.dueAt = null;
    const pending = this.store.inboxPending();
    const all = this.all;
    if (!all && pending.length === 0) return;
    const sending = { again: new Set<string>(), all: false };
    this.sending = sending;
    try {
      const targets = all ? [...new Set([...this.state.activeMemberIds(), ...pending])] : pending;
      const failed = await this.send(targets, "updated");
      this.store.transaction(() => {
        if (all && !sending.all) {
          this.store.writeFlag(NOTIFY_ALL, null);
          this.all = false;
        }
        const done = pending.filter((id) => !failed.has(id) && !sending.again.has(id));
        this.store.removeInboxPending(done);
        for (const id of failed) this.store.addInboxPending(id);
      });
      if (failed.size > 0) this.retryLater();
    } finally {
      this.sending = null;
    }
  }

  /**
   * Tells these members now, outside the window: a new conversation or new members ("created"),
   * and the caller of a REST write (their own inbox has the change before the answer, so a REST
   * client reads its own writes). Waits at most REST_MIRROR_WAIT_MS; an inbox that fails or is
   * slower stays due and gets the notice from the alarm.
   */
  async tellNow(userIds: string[], event: "created" | "updated" = "updated"): Promise<void> {
    if (userIds.length === 0) return;
    const work = this.send(userIds, event).then((failed) => {
      if (failed.size === 0) return;
      this.markDue([...failed]);
      this.retryLater();
    });
    this.waitUntil(work);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.restWaitMs);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** A new conversation, or new members: their inboxes hear `conversation.created`. */
  announceCreated(userIds: string[]): Promise<void> {
    return this.tellNow(userIds, "created");
  }

  /** The user left or hid the conversation: their inbox drops it (`conversation.removed`). */
  announceRemoved(userId: string): Promise<void> {
    return this.tellNow([userId]);
  }

  /** One user's notice as of now (an inbox filling itself asks for it); null if they never were a member. */
  noticeFor(userId: string): InboxNotice | null {
    return this.build([userId], "updated").get(userId) ?? null;
  }

  /** Sends each user their notice; returns who did not take it (every failure is logged, none thrown). */
  private async send(userIds: string[], event: "created" | "updated"): Promise<Set<string>> {
    const failed = new Set<string>();
    let firstError: unknown = null;
    let firstUser = "";
    const notices = this.build(userIds, event);
    await Promise.all(
      [...notices].map(async ([userId, notice]) => {
        try {
          await this.inboxes.apply(userId, [notice]);
        } catch (err) {
          failed.add(userId);
          if (firstError === null) {
            firstError = err;
            firstUser = userId;
          }
        }
      }),
    );
    if (failed.size > 0) {
      log("warn", "inbox_notice_failed", {
        conversationId: this.state.id,
        inboxes: failed.size,
        userId: firstUser,
        ...describeError(firstError),
      });
    }
    return failed;
  }

  /**
   * Each user's notice, all numbered with one new version. Members' views differ only in their own
   * part: the shared part is serialized once and each member's JSON is finished with their numbers
   * (this loop was a fifth of a 500-member room's CPU when it cloned and serialized per member).
   */
  private build(userIds: Iterable<string>, event: "created" | "updated"): Map<string, InboxNotice> {
    const out = new Map<string, InboxNotice>();
    if (!this.state.exists) return out;
    const version = this.nextVersion();
    const conversationId = this.state.id;
    let shared: ReturnType<RoomState["sharedView"]> | null = null;
    let head = "";
    for (const userId of userIds) {
      const member = this.state.members.get(userId);
      // Someone who never was a member is told nothing about the conversation.
      if (!member) continue;
      if (!member.active) {
        out.set(userId, { conversationId, version, state: "left" });
        continue;
      }
      if (!shared) {
        shared = this.state.sharedView(true);
        head = JSON.stringify(shared).slice(0, -1);
      }
      const { lastSeq } = shared;
      const { unreadCount, lastReadSeq } = readState(lastSeq, member.lastReadSeq);
      const hidden = member.hiddenAtSeq !== null && lastSeq <= member.hiddenAtSeq;
      out.set(userId, {
        conversationId,
        version,
        state: hidden ? "hidden" : "visible",
        event,
        conversation: `${head},"unreadCount":${unreadCount},"lastReadSeq":${lastReadSeq},"muted":${member.muted}}`,
        updatedAt: shared.updatedAt,
        lastSeq,
        lastReadSeq,
        unreadCount,
        kind: shared.kind,
        title: shared.title,
        participantCount: shared.participantCount,
        muted: member.muted,
      });
    }
    return out;
  }

  private nextVersion(): number {
    this.version = (this.version ?? Number(this.store.readFlag(NOTICE_VERSION) ?? 0)) + 1;
    this.store.writeFlag(NOTICE_VERSION, String(this.version));
    return this.version;
  }

  private markDue(userIds: string[]): void {
    for (const id of userIds) {
      this.store.addInboxPending(id);
      this.sending?.again.add(id);
    }
  }

  private retryLater(): void {
    this.wakeAt(this.now() + this.settings.retryMs);
  }

  private wakeAt(at: number): void {
    this.dueAt = Math.min(this.dueAt ?? at, at);
    this.alarm.request(this.dueAt);
  }
}

/** The members' inbox objects, one per user (UserInbox). */
export function userInboxes(env: Env): Inboxes {
  return {
    apply: (userId, notices) => env.USER_INBOX.getByName(userId).apply(notices),
  };
}
