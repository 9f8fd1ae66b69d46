import { DurableObject } from "cloudflare:workers";
import { ApiError, type RpcResult, rpcFailure } from "../../errors";
import { describeError, log } from "../../log";
import { CloseCode } from "../../protocol/close-codes";
import { PING, PONG } from "../../protocol/frames";
import type { Conversation, Message, User } from "../../protocol/models";
import type { HistoryQuery } from "../../protocol/requests";
import type { HistoryPage } from "../../protocol/responses";
import type { InboxNotice } from "../inbox/notice";
import { admitFrame, closeSocket, replyToClose, upgradeCaller } from "../sockets";
import type { Finished, ServedFile, UploadedFile } from "./files";
import type { NewConversation } from "./membership";
import { type RoomParts, roomParts } from "./parts";
import type { Opened, SendInput, SendResult } from "./rpc-types";
import type { MemberRow } from "./storage";
import type { WebhookBatch, WebhookReport } from "./webhook-outbox";

/**
 * One conversation, named by its id (`ctx.id.name`): the single writer of its messages and its
 * membership. This class only receives (RPC from the Worker, socket frames, the alarm), delegates
 * to the modules of this folder and replies; see the README's "How it works" for the whole.
 */
export class ConversationRoom extends DurableObject<Env> {
  private readonly limits: RoomParts["limits"];
  private readonly state: RoomParts["state"];
  private readonly sockets: RoomParts["sockets"];
  private readonly alarms: RoomParts["alarms"];
  private readonly signals: RoomParts["signals"];
  private readonly allowances: RoomParts["allowances"];
  private readonly notifier: RoomParts["notifier"];
  private readonly outbox: RoomParts["outbox"];
  private readonly membership: RoomParts["membership"];
  private readonly commits: RoomParts["commits"];
  private readonly historyReader: RoomParts["historyReader"];
  private readonly reactions: RoomParts["reactions"];
  private readonly changes: RoomParts["changes"];
  private readonly publisher: RoomParts["publisher"];
  private readonly webhooks: RoomParts["webhooks"];
  private readonly frames: RoomParts["frames"];
  private readonly files: RoomParts["files"];
  private readonly upgrades: RoomParts["upgrades"];
  private readonly erasure: RoomParts["erasure"];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ({
      limits: this.limits,
      state: this.state,
      sockets: this.sockets,
      alarms: this.alarms,
      signals: this.signals,
      allowances: this.allowances,
      notifier: this.notifier,
      outbox: this.outbox,
      membership: this.membership,
      commits: this.commits,
      historyReader: this.historyReader,
      reactions: this.reactions,
      changes: this.changes,
      publisher: this.publisher,
      webhooks: this.webhooks,
      frames: this.frames,
      files: this.files,
      upgrades: this.upgrades,
      erasure: this.erasure,
    } = roomParts(ctx, env, () => this.publisher.commitOpen()));
    // Keep-alives are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(() => this.alarms.load());
  }

  // ---- RPC methods, called by the Worker with a verified user id ----

  /**
   * Creates the conversation from the Worker's snapshot unless it exists (`snapshot` null: it must
   * exist), sends the first message if there is one, and tells the members' inboxes when created
   * (the caller's before answering).
   */
  async open(
    userId: string,
    snapshot: NewConversation | null,
    first: SendInput | null,
  ): Promise<RpcResult<Opened>> {
    return this.guard(async () => {
      // A first message is paid for before anything is created: refused, nothing happened.
      if (first) await this.allowances.spend(userId, first.body);
      const created = snapshot !== null && this.membership.create(snapshot);
      if (!created) await this.ready();
      this.publisher.commitOpen();
      const member = this.state.requireMember(userId);
      const sent = first ? this.publisher.send(member.id, first) : null;
      if (created) {
        const others = this.state.activeMemberIds().filter((id) => id !== member.id);
        this.ctx.waitUntil(this.notifier.announceCreated(others));
        // D1's directory has the conversation and the creator's inbox lists it before the answer.
        this.signals.persistReads();
        await Promise.all([this.outbox.flushForRest(), this.notifier.announceCreated([member.id])]);
      } else if (sent?.created) {
        await this.publisher.restWritten(member.id, true);
      }
      const message = sent && this.publisher.mine(member.id, sent.message);
      return { conversation: this.state.viewFor(member), message, created };
    });
  }

  async view(userId: string): Promise<RpcResult<Conversation>> {
    return this.asMember(userId, (member) => this.state.viewFor(member));
  }

  /**
   * A REST send: answered once D1 and the sender's inbox have it (a replayed clientId waits for
   * nothing), with `myReactions` like every REST message.
   */
  async send(userId: string, input: SendInput): Promise<RpcResult<SendResult>> {
    return this.asMember(userId, async (member) => {
      // A reply to a message older than the room's tail quotes it from the shard.
      if (input.replyTo !== undefined) await this.historyReader.ensureLocal(input.replyTo);
      await this.allowances.spend(member.id, input.body);
      const result = this.publisher.send(member.id, input);
      if (result.created) await this.publisher.restWritten(member.id, true);
      return { ...result, message: this.publisher.mine(member.id, result.message) };
    });
  }

  /**
   * The server API's send: as `senderId`, a participant (else 422: the conversation exists), or with
   * `senderId` null a system message. Answers once D1 (and the sender's inbox) has it, like REST.
   */
  async post(senderId: string | null, input: SendInput): Promise<RpcResult<SendResult>> {
    return this.guard(async () => {
      await this.ready();
      this.state.requireMeta();
      this.publisher.commitOpen();
      if (senderId !== null) {
        this.membership.requireParticipant(senderId, "senderId");
        // A user's message spends their budget, whoever posts it; a system message has no owner.
        await this.allowances.spend(senderId, input.body);
      }
      const result = this.publisher.send(senderId, input);
      if (result.created) {
        await (senderId === null ? this.outbox.flushForRest() : this.publisher.restWritten(senderId, true));
      }
      return result;
    });
  }

  async edit(userId: string, messageId: string, body: string): Promise<RpcResult<Message>> {
    return this.asMember(userId, async (member) => {
      await this.historyReader.ensureLocal(messageId);
      await this.allowances.spend(member.id, body);
      const updated = this.commits.edit(member.id, messageId, body);
      const view = this.publisher.change(updated, "message.updated", member.id);
      await this.publisher.restWritten(member.id, this.state.inboxShowsMessage(updated.id));
      return this.publisher.mine(member.id, view);
    });
  }

  /** Adds or takes back a reaction (idempotent); every socket of the room hears a change. */
  async react(userId: string, messageId: string, emoji: string, active: boolean): Promise<RpcResult<void>> {
    return this.asMember(userId, async (member) => {
      await this.historyReader.ensureLocal(messageId);
      if (this.reactions.apply(member.id, messageId, emoji, active)) {
        await this.publisher.restWritten(member.id, this.state.inboxShowsMessage(messageId));
      }
    });
  }

  /** Groups only: a new title from any participant; the members' sockets and inboxes hear it. */
  async rename(userId: string, title: string | null): Promise<RpcResult<Conversation>> {
    return this.asMember(userId, async (member) => {
      if (this.changes.rename(member, title)) await this.publisher.restWritten(member.id, true);
      return this.state.viewFor(member);
    });
  }

  /** Groups only: the creator removes `targetId`, or a member removes themselves (leaves). */
  async removeMember(userId: string, targetId: string): Promise<RpcResult<void>> {
    return this.asMember(userId, async (member) => {
      const gone = this.changes.remove(member, targetId);
      const mine =
        gone.id === member.id ? this.outbox.flushForRest() : this.publisher.restWritten(member.id, true);
      await Promise.all([mine, this.notifier.announceRemoved(gone.id)]);
    });
  }

  /** The caller's own mute of this conversation (no push notifications; unread still counts). */
  async setMuted(userId: string, muted: boolean): Promise<RpcResult<Conversation>> {
    return this.asMember(userId, async (member) => {
      if (this.changes.mute(member, muted)) await this.publisher.restWritten(member.id, true);
      return this.state.viewFor(member);
    });
  }

  async remove(userId: string, messageId: string): Promise<RpcResult<Message>> {
    return this.asMember(userId, async (member) => {
      await this.historyReader.ensureLocal(messageId);
      const { message, changed } = this.commits.remove(member.id, messageId);
      const view = changed
        ? this.publisher.change(message, "message.deleted", member.id)
        : this.publisher.messageView(message, member.id);
      await this.publisher.restWritten(member.id, changed && this.state.inboxShowsMessage(message.id));
      return view;
    });
  }

  async history(userId: string, query: HistoryQuery): Promise<RpcResult<HistoryPage>> {
    return this.asMember(userId, async (member) => {
      const page = await this.historyReader.page(query, member.id);
      return { ...page, messages: this.reactions.withMine(member.id, page.messages) };
    });
  }

  /** A REST read is stored at once (it answers once D1 has it); the sockets hear of it with the window. */
  async markRead(userId: string, seq: number): Promise<RpcResult<void>> {
    return this.asMember(userId, async (member) => {
      if (this.signals.read(member, seq)) await this.publisher.restWritten(member.id, true);
    });
  }

  /** Groups only: adds users (checked to exist by the Worker) and announces it to them. */
  async addMembers(userId: string, users: User[]): Promise<RpcResult<Conversation>> {
    return this.asMember(userId, async () => {
      const fresh = this.membership.add(users);
      if (fresh.length > 0) {
        this.notifier.queue("all");
        await Promise.all([
          this.publisher.restWritten(userId, true),
          this.notifier.announceCreated(fresh.map((u) => u.id)),
        ]);
      }
      return this.state.viewFor(this.state.requireMember(userId));
    });
  }

  /** Off the caller's inbox: a group is left (sockets close 4403), a direct one hidden until a message. */
  async removeFromInbox(userId: string): Promise<RpcResult<void>> {
    return this.asMember(userId, async (member) => {
      if (this.state.requireMeta().kind === "group") this.changes.remove(member, member.id);
      else this.membership.hide(member);
      await Promise.all([this.outbox.flushForRest(), this.notifier.announceRemoved(member.id)]);
    });
  }

  /** `userId` deleted their account: their inbox calls until done (a bounded step each, erasure.ts). */
  async eraseMember(userId: string, maxMessages: number): Promise<RpcResult<{ done: boolean }>> {
    return this.guard(() => this.erasure.erase(userId, maxMessages, () => this.ready()));
  }

  /**
   * A member's profile as their inbox numbered it (newer than the room's, or ignored): later events
   * and history carry it, and so do the inboxes that show it (listed, or as the last sender).
   */
  async updateProfile(user: User, version: number): Promise<void> {
    await this.ready();
    if (this.membership.updateProfile(user, version) && this.state.inboxShows(user.id)) {
      this.notifier.queue("all");
    }
  }

  // Attachments (files.ts): an upload is recorded before the Worker stores its bytes in R2, then
  // finished (null: it failed); a download asks whether the caller may have the file now (else 404).
  // A deleted account does neither (a link signed for them stops working).
  async beginUpload(userId: string): Promise<RpcResult<string>> {
    return this.asMember(userId, (member) => this.files.begin(this.erasure.live(member).id));
  }
  async finishUpload(userId: string, id: string, file: UploadedFile | null): Promise<RpcResult<Finished>> {
    return this.asMember(userId, (member) => this.files.finish(member.id, id, file));
  }
  /** The file `userId` may download now (404 for anyone else). */
  async attachment(userId: string, id: string): Promise<RpcResult<ServedFile>> {
    return this.asMember(userId, (member) => this.files.served(this.erasure.live(member).id, id));
  }

  /** The user's view for their inbox as of now (an inbox filling itself asks); null if never a member. */
  async inboxNotice(userId: string): Promise<InboxNotice | null> {
    await this.ready();
    this.publisher.commitOpen();
    return this.notifier.noticeFor(userId);
  }

  /** The webhook queue consumer's calls (src/webhooks/consumer.ts; see webhook-outbox.ts). */
  async webhookBatch(url: string, batchId: string): Promise<WebhookBatch | null> {
    return this.webhooks.batch(url, batchId);
  }
  async webhookReport(url: string, batchId: string, report: WebhookReport): Promise<void> {
    this.webhooks.report(url, batchId, report);
  }

  // ---- WebSockets (Hibernation API) ----

  override async fetch(request: Request): Promise<Response> {
    try {
      await this.ready();
      return await this.upgrades.open(upgradeCaller(request), new URL(request.url).searchParams);
    } catch (err) {
      if (err instanceof ApiError) return err.toResponse();
      log("error", "room_upgrade_failed", { conversationId: this.state.id, ...describeError(err) });
      return new ApiError("internal", "Internal error").toResponse();
    }
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const attachment = admitFrame(this.sockets, ws, data, this.limits.maxFrameBytes, this.signals.departed);
    if (!attachment) return;
    const member = this.state.members.get(attachment.userId);
    if (!member?.active) {
      this.signals.departed(closeSocket(this.sockets, ws, CloseCode.notParticipant, "not a participant"));
      return;
    }
    await this.frames.receive(ws, member, data);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.signals.departed(this.sockets.remove(ws));
    replyToClose(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.signals.departed(this.sockets.remove(ws));
  }

  /**
   * One alarm, several clocks: sockets' token expiry, the inbox notices (window and retries), the
   * webhook outbox (redelivery), the D1 outbox (flush and retry) and files due for deletion; the
   * inbox, D1 and R2 side by side, so a slow one never holds up the others.
   */
  override async alarm(): Promise<void> {
    this.alarms.fired();
    // Sockets whose token expired close (4401); the alarm comes back for the next one.
    for (const gone of this.sockets.closeExpired(Date.now())) this.signals.departed(gone);
    const nextExpiry = this.sockets.nextExpiryMs();
    if (nextExpiry !== null) this.alarms.request(nextExpiry);
    if (!this.state.exists) return;
    this.publisher.commitOpen();
    this.webhooks.due();
    await Promise.all([this.notifier.sendIfDue(), this.outbox.flush(), this.files.sweepIfDue()]);
  }

  // ---- delegation ----

  private ready(): Promise<void> {
    return this.state.ensureLoaded(this.ctx, () => this.membership.loadFromDirectory(this.env.DB));
  }

  private asMember<T>(userId: string, fn: (member: MemberRow) => T | Promise<T>): Promise<RpcResult<T>> {
    return this.guard(async () => {
      await this.ready();
      this.publisher.commitOpen();
      return fn(this.state.requireMember(userId));
    });
  }

  /** Expected failures travel back as values (see RpcResult); anything else is a bug, logged. */
  private async guard<T>(fn: () => Promise<T>): Promise<RpcResult<T>> {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (err instanceof ApiError) return rpcFailure(err);
      log("error", "room_rpc_failed", { conversationId: this.state.id, ...describeError(err) });
      throw err;
    }
  }
}
