import { limitsFrom } from "../../config";
import { log } from "../../log";
import { parseFrame } from "../../protocol/frames";
import { type Conversation, ConversationSchema } from "../../protocol/models";
import { type PushSubscriptionInput, notificationText } from "../../protocol/push";
import { sendPush } from "../../push/send";
import { vapidFrom } from "../../push/vapid";
import type { InboxAlarm } from "./alarm";
import type { MemberNotice } from "./notice";
import { PushStore } from "./push-store";

/** What a room tells a member's inbox about activity in a conversation, as that member sees it. */
export interface AwayNotice {
  /** The member's view, as in `conversation.updated`: its `lastMessage` is what may be pushed. */
  conversation: Conversation;
  /** The member muted the conversation (as the inbox's row has it, from the room's notice). */
  muted?: boolean;
}

/** Why a notice did or did not become a push (returned to the caller, so tests and logs can tell). */
export type AwayDecision =
  | "queued"
  | "socket_open"
  | "push_off"
  | "no_subscriptions"
  | "no_message"
  | "seen"
  | "own_message"
  | "deleted"
  | "read"
  | "muted"
  | "too_soon";

/** Pushes sent per alarm run; more waiting set the alarm again. */
const BATCH = 20;

/**
 * Web Push for one user, owned by their inbox object: their subscriptions, the decision whether a
 * notice becomes a push, and delivery.
 *
 * Delivery never happens inside the call that brought the notice. A queued push is a row in the
 * object's SQLite and the object's alarm (its push clock) sends it: the room's call returns after local writes,
 * a slow or failing push service delays nobody's message, and the row survives an eviction (the
 * alarm is retried by the runtime), which `ctx.waitUntil` in a Durable Object would not give.
 */
export class AwayPush {
  private readonly store: PushStore;
  /** Subscriptions count, cached: notices for people without any cost no SQL read. */
  private subscriptions: number | null = null;

  constructor(
    sql: SqlStorage,
    private readonly env: Env,
    private readonly ownerId: () => string,
    private readonly alarm: InboxAlarm,
  ) {
    this.store = new PushStore(sql);
  }

  subscribe(sub: PushSubscriptionInput): void {
    const { endpoint, keys } = sub;
    const max = limitsFrom(this.env).pushMaxSubscriptions;
    this.store.saveSubscription({ endpoint, p256dh: keys.p256dh, auth: keys.auth }, Date.now(), max);
    this.subscriptions = null;
  }

  unsubscribe(endpoint: string): void {
    if (this.count() === 0) return;
    this.store.removeSubscription(endpoint);
    this.subscriptions = null;
  }

  /** The user deleted their account: no subscription of theirs is kept, nothing waits to be sent. */
  clear(): void {
    this.store.clearAll();
    this.subscriptions = 0;
  }

  endpoints(): string[] {
    return this.count() === 0 ? [] : this.store.subscriptions().map((s) => s.endpoint);
  }

  /**
   * A room's notice, stored in the inbox's row, for a user with no socket open: the conversation's
   * JSON is read only when a push could follow (push configured and subscribed to).
   */
  async fromNotice(notice: MemberNotice, muted: boolean): Promise<void> {
    if (notice.state !== "visible" || !this.active()) return;
    const conversation = parseFrame(ConversationSchema, notice.conversation);
    if (conversation) await this.consider({ conversation, muted }, false);
  }

  /** The conversation left the user's inbox (left, hidden): its push state goes with it. */
  forget(conversationId: string): void {
    if (this.count() > 0) this.store.forgetConversation(conversationId);
  }

  /**
   * Decides whether a notice becomes a push: nobody is here (no open socket), push is configured and
   * subscribed to, the newest message is new, someone else's, unread, not deleted, the conversation
   * not muted, and nothing was pushed for it within PUSH_INTERVAL_SECONDS. A later message within
   * the interval is dropped, not delayed: the next push after it says what is new by then.
   */
  async consider(notice: AwayNotice, socketOpen: boolean): Promise<AwayDecision> {
    if (socketOpen) return "socket_open";
    if (!vapidFrom(this.env).ok) return "push_off";
    if (this.count() === 0) return "no_subscriptions";
    const { conversation } = notice;
    const message = conversation.lastMessage;
    if (!message) return "no_message";
    const state = this.store.conversation(conversation.id);
    if (state && message.seq <= state.lastSeq) return "seen";
    const limits = limitsFrom(this.env);
    const now = Date.now();
    const lastPushAt = state?.lastPushAt ?? null;
    const me = this.ownerId();
    let decision: AwayDecision = "queued";
    if (message.sender?.id === me) decision = "own_message";
    else if (message.deletedAt !== null) decision = "deleted";
    else if (conversation.unreadCount === 0) decision = "read";
    else if (notice.muted || conversation.muted) decision = "muted";
    else if (lastPushAt !== null && now - lastPushAt < limits.pushIntervalSeconds * 1000)
      decision = "too_soon";
    const queued = decision === "queued";
    this.store.saveConversation(conversation.id, message.seq, queued ? now : lastPushAt);
    if (queued) {
      const text = notificationText(conversation, message, me, limits.pushSnippetChars);
      this.store.enqueue({ conversationId: conversation.id, ...text }, message.seq, now);
      await this.schedule(now);
    }
    return decision;
  }

  /** The alarm's work: sends what is queued; never throws (every failure is logged and dropped). */
  async deliver(): Promise<void> {
    if (this.store.queueLength() === 0) return;
    const vapid = vapidFrom(this.env);
    if (!vapid.ok) {
      this.store.clearQueue();
      return;
    }
    const limits = limitsFrom(this.env);
    const options = { ttlSeconds: limits.pushTtlSeconds, timeoutMs: limits.pushTimeoutMs };
    for (const { seq, payload } of this.store.queued(BATCH)) {
      const subs = this.store.subscriptions();
      const outcomes = await Promise.all(
        subs.map((sub) => sendPush(sub, payload, vapid.vapid, { ...options, topic: payload.conversationId })),
      );
      outcomes.forEach((outcome, i) => {
        const sub = subs[i];
        if (!sub || outcome.kind === "sent") return;
        // The endpoint is a capability: only its origin is logged.
        const pushService = new URL(sub.endpoint).origin;
        if (outcome.kind === "gone") {
          this.store.removeSubscription(sub.endpoint);
          this.subscriptions = null;
          log("info", "push_subscription_gone", { pushService, status: outcome.status });
        } else {
          log("warn", "push_failed", { pushService, status: outcome.status, reason: outcome.reason });
        }
      });
      this.store.dequeue(payload.conversationId, seq);
    }
    if (this.store.queueLength() > 0) await this.schedule(Date.now());
  }

  private active(): boolean {
    return vapidFrom(this.env).ok && this.count() > 0;
  }

  private count(): number {
    this.subscriptions ??= this.store.subscriptionCount();
    return this.subscriptions;
  }

  /** The push clock: delivery as soon as the alarm can run. */
  private schedule(now: number): Promise<void> {
    return this.alarm.request(now);
  }
}
