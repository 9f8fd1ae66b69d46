import { DurableObject } from "cloudflare:workers";
import { accountDeleted } from "../../auth/account-state";
import { limitsFrom } from "../../config";
import { metricsFrom, windowedMetrics } from "../../observability/metrics";
import { CloseCode } from "../../protocol/close-codes";
import { type InboxEvent, PING, PONG } from "../../protocol/frames";
import type { PushSubscriptionInput } from "../../protocol/push";
import type { SearchConversation } from "../../protocol/responses";
import { SocketSet, acceptSocket, admitFrame, replyToClose, safeSend, upgradeCaller } from "../sockets";
import { InboxAlarm } from "./alarm";
import { type AwayDecision, type AwayNotice, AwayPush } from "./away-push";
import { Backfill, directorySource } from "./backfill";
import { type BudgetKind, Budgets, type LeaseGrant, type LeaseRequest, type SpendResult } from "./budgets";
import type { InboxCursor } from "./cursor";
import { AccountErasure, erasureTargets } from "./erasure";
import type { InboxNotice } from "./notice";
import { ProfileSync, directoryProfiles } from "./profile-sync";
import { InboxRows } from "./rows";
import { migrateInbox } from "./schema";
import { type MintedTicket, dropTickets, mintTicket, redeemTicket } from "./tickets";

/**
 * One user's inbox: a row per conversation of theirs in the object's SQLite, kept current by the
 * rooms' notices whether or not anyone is looking, and the listing read from it
 * (`GET /api/conversations`). Every open tab and device of the user holds a socket here and hears
 * the changes as they are stored; with no socket open a change may become a Web Push. It also keeps
 * the user's unused socket tickets and push subscriptions. One object per user, named by their id.
 */
export class UserInbox extends DurableObject<Env> {
  private readonly sockets: SocketSet;
  private readonly rows: InboxRows;
  /** One alarm for every clock of the inbox (alarm.ts): sockets' token expiry, Web Push delivery. */
  private readonly alarms: InboxAlarm;
  /** Web Push for when none of the user's sockets is open (src/durable/inbox/away-push.ts). */
  private readonly push: AwayPush;
  private readonly backfill: Backfill;
  private readonly budgets: Budgets;
  /** The user's profile changes, passed on to their rooms in batches by the alarm (profile-sync.ts). */
  private readonly profiles: ProfileSync;
  /** The user's account deletion, once they asked for it (erasure.ts). */
  private readonly erasure: AccountErasure;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateInbox(ctx.storage);
    const userId = ctx.id.name ?? "";
    const limits = limitsFrom(env);
    const metrics = windowedMetrics(metricsFrom(env), limits.metricsWindowMs);
    this.sockets = new SocketSet(ctx, (change) => metrics.socket("inbox", change));
    this.rows = new InboxRows(ctx.storage);
    this.budgets = new Budgets(ctx.storage.sql, limits.userBudgets);
    this.alarms = new InboxAlarm(ctx.storage);
    this.profiles = new ProfileSync(
      ctx.storage.kv,
      directoryProfiles(env, userId),
      this.alarms,
      { batch: limits.profileSyncBatch, retryMs: limits.inboxRetryMs },
      userId,
    );
    this.push = new AwayPush(ctx.storage.sql, env, () => userId, this.alarms);
    this.backfill = new Backfill(
      this.rows,
      directorySource(env, userId),
      (notice) => this.rows.apply(notice),
      limits.inboxBackfillConcurrency,
    );
    this.erasure = new AccountErasure(ctx.storage.sql, this.rows, userId, erasureTargets(env), this.alarms, {
      roomsPerStep: limits.accountEraseRoomsPerStep,
      messagesPerRoom: limits.accountEraseMessagesPerRoom,
      retryMs: limits.accountEraseRetryMs,
    });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** When the user deleted their account (ms), or null: every token of theirs is refused after it. */
  async deletedAt(): Promise<number | null> {
    return this.erasure.deletedAt();
  }

  /**
   * DELETE /api/me, once the Worker checked the caller: recorded here first (from now on the
   * account is deleted), then at once their sockets close (4401), their tickets, push subscriptions
   * and inbox rows go, a profile change not yet passed on is dropped (each room gets "Deleted user"
   * from the deletion, numbered above any change: room/erasure.ts), and the first step of the rest
   * runs before the answer; the alarm runs the others until done (erasure.ts). Asking again changes
   * nothing but runs a step.
   */
  async eraseAccount(at: number): Promise<void> {
    if (this.erasure.begin(at, this.rows.conversationIds())) {
      this.profiles.stop();
      this.rows.clear();
      this.push.clear();
      dropTickets(this.ctx.storage.kv);
      this.sockets.closeUser(this.ctx.id.name ?? "", CloseCode.tokenInvalid, "account deleted");
    }
    await this.erasure.step();
  }

  /**
   * Called by conversation rooms: stores each notice that is newer than the row it has, then tells
   * the user's sockets what changed (one frame for all of them, as the room serialized it) or, with
   * none open, decides a Web Push. Returns once stored: a room whose call fails keeps the notice.
   */
  async apply(notices: InboxNotice[]): Promise<void> {
    // A deleted account keeps no inbox: a conversation it hears of is one more to erase them from.
    if (this.erasure.deletedAt() !== null) return this.erasure.track(notices.map((n) => n.conversationId));
    for (const notice of notices) {
      const { applied, frame, row } = this.rows.apply(notice);
      if (!applied) continue;
      if (this.sockets.size > 0) {
        if (frame !== null) this.sockets.broadcast(frame);
      } else if (notice.state === "visible") {
        await this.push.fromNotice(notice, row?.muted ?? false);
      } else {
        this.push.forget(notice.conversationId);
      }
    }
  }

  /**
   * One page of `GET /api/conversations` as its JSON: the rows, newest activity first, hidden and
   * left conversations left out. An inbox from before rows fills itself from the directory first.
   */
  async list(limit: number, cursor: InboxCursor | null): Promise<string> {
    await this.backfill.ensure();
    return this.rows.page(limit, cursor);
  }

  /**
   * The conversations `GET /api/search` looks in: the user's current ones (not those they left),
   * or only `conversationId` if it is one of them. Read from the rows, like the listing.
   */
  async searchScope(conversationId: string | null): Promise<SearchConversation[]> {
    await this.backfill.ensure();
    return this.rows.scope(conversationId);
  }

  /** A single-use socket ticket for this user (see inbox/tickets.ts). */
  async mintTicket(tokenExp: number, ttlSeconds: number, max: number): Promise<MintedTicket> {
    return mintTicket(this.ctx.storage.kv, { tokenExp, ttlSeconds, max });
  }

  async redeemTicket(secret: string): Promise<{ tokenExp: number } | null> {
    if (this.erasure.deletedAt() !== null) return null;
    return redeemTicket(this.ctx.storage.kv, secret);
  }

  /** A room's batch of this user's message tokens (budgets.ts): the room spends it without asking again. */
  async leaseMessages(request: LeaseRequest): Promise<LeaseGrant> {
    return this.budgets.lease(request);
  }

  /** Takes from one of the user's budgets (see budget-client.ts for the Worker's side). */
  async spend(kind: BudgetKind, amount: number): Promise<SpendResult> {
    return this.budgets.spend(kind, amount);
  }

  async refund(kind: BudgetKind, amount: number): Promise<void> {
    this.budgets.refund(kind, amount);
  }

  /** The user's profile changed in the directory: their rooms hear it from the alarm (profile-sync.ts). */
  async profileChanged(): Promise<void> {
    // A deleted account's profile is "Deleted user" for good: the deletion tells the rooms.
    if (this.erasure.deletedAt() === null) await this.profiles.changed();
  }

  /** Whether a notice of activity would become a Web Push (what `apply` asks for a user who is away). */
  async notifyAway(notice: AwayNotice): Promise<AwayDecision> {
    return this.push.consider(notice, this.sockets.size > 0);
  }

  async savePushSubscription(sub: PushSubscriptionInput): Promise<void> {
    if (this.erasure.deletedAt() === null) this.push.subscribe(sub);
  }

  async deletePushSubscription(endpoint: string): Promise<void> {
    this.push.unsubscribe(endpoint);
  }

  async pushEndpoints(): Promise<string[]> {
    return this.push.endpoints();
  }

  /**
   * The one alarm, four clocks (alarm.ts): sockets' token expiry, queued pushes, profile changes and
   * a deletion. A deleted account's profile reaches its rooms with the deletion only (erasure.ts).
   */
  override async alarm(): Promise<void> {
    this.sockets.closeExpired(Date.now());
    const next = this.sockets.nextExpiryMs();
    if (next !== null) await this.alarms.request(next);
    const deleted = this.erasure.deletedAt() !== null;
    await Promise.all([this.push.deliver(), deleted ? this.erasure.due() : this.profiles.run()]);
  }

  override async fetch(request: Request): Promise<Response> {
    const { userId, tokenExp } = upgradeCaller(request);
    // The Worker checked the token; this closes the race with a deletion meanwhile.
    if (this.erasure.deletedAt() !== null) return accountDeleted().toResponse();
    const { server, response } = acceptSocket(this.ctx, this.sockets, { userId, tokenExp, batch: false });
    safeSend(server, JSON.stringify({ type: "ready" } satisfies InboxEvent));
    // A socket that only pings never wakes the inbox: the alarm closes it when its token expires.
    await this.alarms.request(tokenExp * 1000);
    return response;
  }

  /** The inbox takes no commands; a frame only proves the socket is alive (and its token valid). */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!admitFrame(this.sockets, ws, message, limitsFrom(this.env).maxFrameBytes)) return;
    const event: InboxEvent = {
      type: "error",
      code: "bad_request",
      message: "The inbox socket takes no frames",
    };
    safeSend(ws, JSON.stringify(event));
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.sockets.remove(ws);
    replyToClose(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.sockets.remove(ws);
  }
}
