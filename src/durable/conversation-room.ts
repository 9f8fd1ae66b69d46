import { DurableObject } from "cloudflare:workers";
import { type Limits, limitsFrom } from "../config";
import { openDb } from "../db/client";
import { addParticipantRows, loadRoomSnapshot, markHidden, markLeft } from "../db/conversations";
import { mirrorConversation } from "../db/mirror";
import { ApiError, type RpcResult, notFound, rpcFailure } from "../errors";
import { newId, nowIso } from "../ids";
import { describeError, log } from "../log";
import { CloseCode } from "../protocol/close-codes";
import { type ClientFrame, PING, PONG, type RoomEvent, parseClientFrame } from "../protocol/frames";
import type { ErrorCode } from "../protocol/errors";
import type { Conversation, Message, User } from "../protocol/models";
import type { HistoryQuery } from "../protocol/requests";
import type { HistoryPage } from "../protocol/responses";
import { conversationView, messageView, readState } from "../views";
import { type MemberRow, type RoomMeta, RoomStorage, type StoredMessage, clientKey } from "./room-storage";
import { type SocketAttachment, SocketSet, frameExceeds, replyToClose, safeSend } from "./sockets";

/** Who is calling: the Worker passes the verified user, never the client's word for it. */
export interface RoomCaller {
  conversationId: string;
  userId: string;
}

export interface SendResult {
  message: Message;
  /** false when the clientId had been used: the original message is returned, nothing is stored. */
  created: boolean;
}

/** Headers the Worker sets on the internal WebSocket upgrade request (clients cannot reach the object). */
export const ROOM_HEADERS = {
  conversationId: "x-chat-conversation",
  userId: "x-chat-user",
  tokenExp: "x-chat-token-exp",
} as const;

const MIRROR_BATCH = 200;

/** A send waiting for the group commit; `result` is set by the commit. */
interface PendingSend {
  senderId: string;
  body: string;
  clientId: string | null;
  from: WebSocket | null;
  result: { message: StoredMessage; created: boolean } | null;
}
const RATE_WINDOW_MS = 10_000;

/**
 * One conversation: the single writer that numbers its messages, stores them durably in its own
 * SQLite log before acknowledging, fans them out to hibernatable sockets, copies them to D1 through
 * an outbox, and tells the participants' inboxes about activity (coalesced per window).
 */
export class ConversationRoom extends DurableObject<Env> {
  private readonly store: RoomStorage;
  private readonly sockets: SocketSet;
  private readonly limits: Limits;
  private meta: RoomMeta | null;
  private members = new Map<string, MemberRow>();
  private lastSeq = 0;
  private loading: Promise<void> | null = null;
  // Ephemeral by design: losing these on eviction only resets a rate window or a typing throttle.
  private readonly rate = new Map<string, { start: number; count: number }>();
  private readonly typingAt = new Map<string, number>();
  private mirroring: Promise<void> | null = null;
  /** Sends accepted but not yet committed (see acceptSend / commitPending). */
  private pending: PendingSend[] = [];
  private commitScheduled = false;
  private alarmAt: number | null = null;
  /** When the pending inbox notices are due; after a wake-up unknown (null), so they go at once. */
  private inboxDueAt: number | null = null;
  private notifyAll = false;
  private activeCountCache: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStorage(ctx.storage);
    this.sockets = new SocketSet(ctx);
    this.limits = limitsFrom(env);
    this.meta = this.store.readMeta();
    if (this.meta) this.loadFromStorage();
    // Keep-alives are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // ---- RPC methods, called by the Worker with a verified caller ----

  async view(caller: RoomCaller): Promise<RpcResult<Conversation>> {
    return this.rpc(caller, (member) => this.viewFor(member));
  }

  async send(
    caller: RoomCaller,
    input: { body: string; clientId?: string | undefined },
    options: { awaitMirror?: boolean } = {},
  ): Promise<RpcResult<SendResult>> {
    return this.rpc(caller, async (member) => {
      const entry = this.acceptSend(member.id, input.body, input.clientId ?? null, null);
      // A REST send does not wait for company: it commits now, with whatever sockets queued.
      this.commitPending();
      if (!entry.result) throw new Error("send was not committed");
      const { message, created } = entry.result;
      if (created && options.awaitMirror) await this.mirrorForRest();
      return { message: this.messageView(message), created };
    });
  }

  async edit(caller: RoomCaller, messageId: string, body: string): Promise<RpcResult<Message>> {
    return this.rpc(caller, async (member) => {
      const view = this.commitEdit(member.id, messageId, body);
      await this.mirrorForRest();
      return view;
    });
  }

  async remove(caller: RoomCaller, messageId: string): Promise<RpcResult<Message>> {
    return this.rpc(caller, async (member) => {
      const view = this.commitDelete(member.id, messageId);
      await this.mirrorForRest();
      return view;
    });
  }

  async history(caller: RoomCaller, query: HistoryQuery): Promise<RpcResult<HistoryPage>> {
    return this.rpc(caller, () => {
      const limit = query.limit;
      let rows: StoredMessage[];
      let hasMore: boolean;
      if (query.after !== undefined) {
        rows = this.store.messagesAfter(query.after, limit + 1);
        hasMore = rows.length > limit;
        rows = rows.slice(0, limit);
      } else {
        rows = this.store.messagesBefore(query.before ?? this.lastSeq + 1, limit + 1);
        hasMore = rows.length > limit;
        rows = rows.slice(rows.length - Math.min(rows.length, limit));
      }
      return { messages: rows.map((m) => this.messageView(m)), hasMore };
    });
  }

  async markRead(caller: RoomCaller, seq: number): Promise<RpcResult<void>> {
    return this.rpc(caller, async (member) => {
      if (this.commitRead(member, seq)) await this.mirrorForRest();
    });
  }

  /** Groups only: adds users (already checked to exist by the Worker) and announces it to them. */
  async addMembers(caller: RoomCaller, users: User[]): Promise<RpcResult<Conversation>> {
    return this.rpc(caller, async (member) => {
      const meta = this.requireMeta();
      if (meta.kind !== "group") {
        throw new ApiError("validation_failed", "Participants can only be added to group conversations");
      }
      const fresh = users.filter((u) => !this.members.get(u.id)?.active);
      if (this.activeCount + fresh.length > this.limits.maxGroupSize) {
        throw new ApiError(
          "validation_failed",
          `A group has at most ${this.limits.maxGroupSize} participants`,
          {
            details: [{ path: "userIds", message: "too many participants" }],
          },
        );
      }
      if (fresh.length > 0) {
        const now = nowIso();
        await addParticipantRows(
          openDb(this.env.DB),
          meta.id,
          fresh.map((u) => u.id),
          now,
        );
        this.store.transaction(() => {
          for (const u of fresh) this.store.upsertMember(u, now);
        });
        this.loadFromStorage();
        await this.announceCreated(fresh.map((u) => u.id));
        this.queueInboxNotify("all");
      }
      return this.viewFor(member);
    });
  }

  /**
   * Takes the conversation out of the caller's inbox: a group is left (their sockets close with
   * 4403), a direct conversation is hidden until its next message.
   */
  async removeFromInbox(caller: RoomCaller): Promise<RpcResult<void>> {
    return this.rpc(caller, async (member) => {
      const meta = this.requireMeta();
      const db = openDb(this.env.DB);
      if (meta.kind === "group") {
        await markLeft(db, meta.id, member.id, nowIso());
        this.store.setMemberActive(member.id, false);
        member.active = false;
        this.activeCountCache = null;
        this.sockets.closeUser(member.id, CloseCode.notParticipant, "left the conversation");
        if (this.presenceOn) this.broadcastEvent({ type: "presence", userId: member.id, online: false });
        this.queueInboxNotify("all");
      } else {
        await markHidden(db, meta.id, member.id, this.lastSeq);
      }
      await this.inbox(member.id).notify([{ type: "conversation.removed", conversationId: meta.id }]);
    });
  }

  /** Sends `conversation.created` to these members' inboxes (the Worker calls it after creating). */
  async announce(caller: RoomCaller, userIds: string[]): Promise<RpcResult<void>> {
    return this.rpc(caller, () => this.announceCreated(userIds));
  }

  /** A member changed their profile: later events and history carry the new one. */
  async updateProfile(conversationId: string, user: User): Promise<void> {
    await this.ensureLoaded(conversationId);
    if (!this.members.has(user.id)) return;
    this.store.updateProfile(user);
    this.loadFromStorage();
  }

  // ---- WebSockets (Hibernation API) ----

  override async fetch(request: Request): Promise<Response> {
    const conversationId = request.headers.get(ROOM_HEADERS.conversationId) ?? "";
    const userId = request.headers.get(ROOM_HEADERS.userId) ?? "";
    const tokenExp = Number(request.headers.get(ROOM_HEADERS.tokenExp));
    try {
      await this.ensureLoaded(conversationId);
      const member = this.requireMember(userId);
      this.commitPending(); // the replay reads committed messages
      const params = new URL(request.url).searchParams;
      const sinceParam = params.get("since");
      const since = sinceParam === null || sinceParam === "" ? null : Number(sinceParam);
      if (since !== null && (!Number.isSafeInteger(since) || since < 0)) {
        throw new ApiError("validation_failed", "since must be a non-negative integer", {
          details: [{ path: "since", message: "must be a non-negative integer" }],
        });
      }
      const { 0: client, 1: server } = new WebSocketPair();
      const batch = params.get("batch") === "1";
      const attachment: SocketAttachment = { chat: 1, userId: member.id, tokenExp, batch };
      this.ctx.acceptWebSocket(server, [member.id]);
      server.serializeAttachment(attachment);
      this.sockets.add(server, attachment);
      const firstSocket = this.sockets.countFor(member.id) === 1;
      const ready: RoomEvent = {
        type: "ready",
        conversationId: this.requireMeta().id,
        lastSeq: this.lastSeq,
        // Rooms too large for presence events list nobody: a list that is never updated would be
        // stale at once, and building it for every arrival made filling a room quadratic.
        online: this.presenceOn ? this.sockets.onlineUsers() : [],
      };
      safeSend(server, JSON.stringify(ready));
      if (since !== null) {
        for (const m of this.store.messagesAfter(since, this.limits.replayLimit)) {
          safeSend(
            server,
            JSON.stringify({ type: "message", message: this.messageView(m) } satisfies RoomEvent),
          );
        }
      }
      if (firstSocket && this.presenceOn) {
        this.sockets.broadcast(
          JSON.stringify({ type: "presence", userId: member.id, online: true } satisfies RoomEvent),
          {
            except: server,
          },
        );
      }
      return new Response(null, { status: 101, webSocket: client });
    } catch (err) {
      if (err instanceof ApiError) return err.toResponse();
      log("error", "room_upgrade_failed", { conversationId, ...describeError(err) });
      return new ApiError("internal", "Internal error").toResponse();
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const attachment = this.sockets.get(ws);
    if (!attachment) return; // not a socket this room accepted
    if (frameExceeds(message, this.limits.maxFrameBytes)) {
      this.dropSocket(
        ws,
        CloseCode.frameTooLarge,
        `frames are limited to ${this.limits.maxFrameBytes} bytes`,
      );
      return;
    }
    if (Date.now() / 1000 >= attachment.tokenExp) {
      this.dropSocket(ws, CloseCode.tokenInvalid, "token expired");
      return;
    }
    const member = this.members.get(attachment.userId);
    if (!member?.active) {
      this.dropSocket(ws, CloseCode.notParticipant, "not a participant");
      return;
    }
    const frame = parseClientFrame(message);
    if (frame.type === "invalid") {
      this.sendError(ws, frame.code, frame.message, frame.clientId);
      return;
    }
    try {
      this.handleFrame(ws, member, frame);
    } catch (err) {
      if (err instanceof ApiError) {
        this.sendError(ws, err.code, err.message, frame.type === "send" ? frame.clientId : undefined);
      } else {
        log("error", "room_frame_failed", { conversationId: this.meta?.id, ...describeError(err) });
        this.sendError(ws, "internal", "Internal error");
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.forgetSocket(ws);
    replyToClose(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forgetSocket(ws);
  }

  /**
   * One alarm serves two clocks: the D1 outbox (flushed in batches every OUTBOX_FLUSH_MS while
   * socket traffic flows, retried while D1 fails) and the coalesced inbox notices (once per window).
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (!this.meta) return;
    this.commitPending();
    const now = Date.now();
    if (this.inboxDueAt !== null && now < this.inboxDueAt) {
      this.ensureAlarm(this.inboxDueAt);
    } else {
      this.inboxDueAt = null;
      await this.sendInboxNotices();
    }
    await this.mirrorNow();
  }

  private async sendInboxNotices(): Promise<void> {
    const pending = this.store.takeInboxPending();
    const all = this.notifyAll || this.store.readFlag("notify_all") === "1";
    if (!all && pending.length === 0) return;
    this.notifyAll = false;
    this.store.writeFlag("notify_all", null);
    const targets = all ? [...this.members.values()].filter((m) => m.active).map((m) => m.id) : pending;
    // Members' views differ only in their read state: serialize the shared part once and finish
    // each member's frame with two numbers. The inbox receives a ready frame, not an object to
    // clone and serialize again (this loop was a fifth of a 500-member room's CPU).
    const shared = this.sharedView(true);
    const { lastSeq } = shared;
    const head = `{"type":"conversation.updated","conversation":${JSON.stringify(shared).slice(0, -1)}`;
    await Promise.allSettled(
      targets.map((userId) => {
        const member = this.members.get(userId);
        if (!member?.active) return Promise.resolve();
        const { unreadCount, lastReadSeq } = readState(lastSeq, member.lastReadSeq);
        return this.inbox(userId).deliver([
          `${head},"unreadCount":${unreadCount},"lastReadSeq":${lastReadSeq}}}`,
        ]);
      }),
    );
  }

  // ---- the write paths shared by REST and sockets ----

  private handleFrame(ws: WebSocket, member: MemberRow, frame: ClientFrame): void {
    // Edits, deletes and reads act on committed state, so queued sends are committed first;
    // sends and typing leave the group open.
    if (frame.type === "edit" || frame.type === "delete" || frame.type === "read") this.commitPending();
    switch (frame.type) {
      case "send": {
        this.acceptSend(member.id, frame.body, frame.clientId, ws);
        return;
      }
      case "edit":
        this.commitEdit(member.id, frame.messageId, frame.body);
        this.queueMirror();
        return;
      case "delete":
        this.commitDelete(member.id, frame.messageId);
        this.queueMirror();
        return;
      case "typing": {
        const now = Date.now();
        // The time typing last started, negated once it stopped: a stop is told only after a start,
        // and toggling cannot restart faster than the throttle (each event goes to every socket).
        const last = this.typingAt.get(member.id);
        if (frame.active) {
          if (last !== undefined && now - Math.abs(last) < this.limits.typingThrottleMs) return;
          this.typingAt.set(member.id, now);
        } else {
          if (last === undefined || last < 0) return;
          this.typingAt.set(member.id, -last);
        }
        this.sockets.broadcast(
          JSON.stringify({ type: "typing", userId: member.id, active: frame.active } satisfies RoomEvent),
          { exceptUser: member.id },
        );
        return;
      }
      case "read":
        if (this.commitRead(member, frame.seq, ws)) this.queueMirror();
        return;
    }
  }

  /**
   * Validates and rate-limits one message and queues it for the next group commit, which numbers,
   * deduplicates and stores the whole group. Nothing is acknowledged before the commit.
   */
  private acceptSend(
    userId: string,
    rawBody: string,
    clientId: string | null,
    from: WebSocket | null,
  ): PendingSend {
    const entry: PendingSend = {
      senderId: userId,
      body: this.checkBody(rawBody),
      clientId,
      from,
      result: null,
    };
    this.takeRateToken(userId);
    this.pending.push(entry);
    if (!this.commitScheduled) {
      this.commitScheduled = true;
      // Frames that arrive before this timer fires join the same transaction: one durable write
      // (one fsync locally) for the whole group instead of one per message.
      setTimeout(() => this.commitPending(), 0);
    }
    return entry;
  }

  /**
   * Group commit: one query finds the clientIds already used, one statement stores the new
   * messages, then every sender gets its ack and everyone else the message. The SQL work per group
   * does not grow with its size (per-message statements were half the echo benchmark's CPU).
   */
  private commitPending(): void {
    this.commitScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const known = this.store.messagesByClientIds(
      batch.flatMap((p) => (p.clientId === null ? [] : [[p.senderId, p.clientId] as [string, string]])),
    );
    const fresh: StoredMessage[] = [];
    const createdAt = nowIso();
    for (const p of batch) {
      const key = p.clientId === null ? null : clientKey(p.senderId, p.clientId);
      const original = key === null ? undefined : known.get(key);
      if (original) {
        p.result = { message: original, created: false };
        continue;
      }
      const message: StoredMessage = {
        seq: this.lastSeq + fresh.length + 1,
        id: newId("m"),
        senderId: p.senderId,
        body: p.body,
        clientId: p.clientId,
        createdAt,
        editedAt: null,
        deletedAt: null,
      };
      fresh.push(message);
      p.result = { message, created: true };
      if (key !== null) known.set(key, message); // the same clientId twice in one group
    }
    if (fresh.length > 0) {
      const readUpTo = new Map<string, number>();
      for (const m of fresh) readUpTo.set(m.senderId, m.seq);
      this.store.transaction(() => {
        this.store.insertMessages(fresh);
        // Sending implies having read everything up to one's own message.
        for (const [userId, seq] of readUpTo) {
          const member = this.members.get(userId);
          if (member && member.lastReadSeq < seq) this.store.setLastRead(userId, seq);
        }
        if (!this.notifyAll) this.store.writeFlag("notify_all", "1");
      });
      this.lastSeq += fresh.length;
      this.notifyAll = true;
      for (const [userId, seq] of readUpTo) {
        const member = this.members.get(userId);
        if (member && member.lastReadSeq < seq) member.lastReadSeq = seq;
      }
    }
    this.fanOut(batch);
    if (fresh.length > 0) this.afterMessage();
  }

  /**
   * Acks to senders, messages to everyone else. Each event is serialized once. A socket that asked
   * for `?batch=1` gets the whole group in one array frame: one send per socket per group instead
   * of one per message (the runtime's send is most of a busy room's CPU). These sends leave only
   * once the commit is durable: the output gate holds them.
   */
  private fanOut(batch: PendingSend[]): void {
    const events: { from: WebSocket | null; message: string | null; ack: string | null }[] = [];
    for (const p of batch) {
      if (!p.result) continue;
      const { message, created } = p.result;
      const view = this.messageView(message);
      events.push({
        from: p.from,
        message: created ? JSON.stringify({ type: "message", message: view } satisfies RoomEvent) : null,
        ack: p.from
          ? JSON.stringify({ type: "ack", clientId: p.clientId, message: view } satisfies RoomEvent)
          : null,
      });
    }
    /** What one socket receives of this group: its own acks in place of its own messages. */
    const framesFor = (ws: WebSocket): string[] => {
      const out: string[] = [];
      for (const e of events) {
        const data = e.from === ws ? e.ack : e.message;
        if (data !== null) out.push(data);
      }
      return out;
    };
    const senders = new Set(events.map((e) => e.from));
    let common: string | null = null;
    this.sockets.each((ws, a) => {
      if (!a.batch) {
        for (const e of events) {
          const data = e.from === ws ? e.ack : e.message;
          if (data !== null && !safeSend(ws, data)) return false;
        }
        return true;
      }
      if (senders.has(ws)) {
        const parts = framesFor(ws);
        return (
          parts.length === 0 || safeSend(ws, parts.length === 1 ? (parts[0] ?? "") : `[${parts.join(",")}]`)
        );
      }
      if (common === null) {
        const parts = events.flatMap((e) => (e.message === null ? [] : [e.message]));
        common = parts.length === 1 ? (parts[0] ?? "") : parts.length === 0 ? "" : `[${parts.join(",")}]`;
      }
      return common === "" || safeSend(ws, common);
    });
  }

  private commitEdit(userId: string, messageId: string, rawBody: string): Message {
    const body = this.checkBody(rawBody);
    const message = this.ownMessage(userId, messageId);
    if (message.deletedAt) throw new ApiError("validation_failed", "A deleted message cannot be edited");
    this.takeRateToken(userId); // edits fan out and reach D1 like sends: same budget
    const updated: StoredMessage = { ...message, body, editedAt: nowIso() };
    this.store.updateMessage(updated);
    return this.afterChange(updated, "message.updated");
  }

  private commitDelete(userId: string, messageId: string): Message {
    const message = this.ownMessage(userId, messageId);
    if (message.deletedAt) return this.messageView(message);
    this.takeRateToken(userId);
    const updated: StoredMessage = { ...message, body: "", deletedAt: nowIso() };
    this.store.updateMessage(updated);
    return this.afterChange(updated, "message.deleted");
  }

  /** Moves a member's read position forward (never back); returns whether it moved. */
  private commitRead(member: MemberRow, seq: number, from?: WebSocket): boolean {
    const target = Math.min(seq, this.lastSeq);
    if (target <= member.lastReadSeq) return false;
    this.store.setLastRead(member.id, target);
    member.lastReadSeq = target;
    this.broadcastEvent({ type: "read", userId: member.id, seq: target }, from);
    this.queueInboxNotify([member.id]);
    return true;
  }

  private afterChange(updated: StoredMessage, type: "message.updated" | "message.deleted"): Message {
    const view = this.messageView(updated);
    this.broadcastEvent({ type, message: view });
    if (updated.seq === this.lastSeq) this.queueInboxNotify("all");
    return view;
  }

  private afterMessage(): void {
    this.queueMirror();
    this.queueInboxNotify("all");
  }

  private checkBody(raw: string): string {
    const body = raw.trim();
    // Characters are code points, as in the REST schema (zod); UTF-16 length is an upper bound.
    const length = body.length <= this.limits.maxMessageChars ? body.length : codePointLength(body);
    if (length === 0 || length > this.limits.maxMessageChars) {
      throw new ApiError("validation_failed", `body must be 1 to ${this.limits.maxMessageChars} characters`, {
        details: [{ path: "body", message: body.length === 0 ? "must not be empty" : "too long" }],
      });
    }
    return body;
  }

  private ownMessage(userId: string, messageId: string): StoredMessage {
    const message = this.store.messageById(messageId);
    if (!message) throw notFound("Message not found");
    if (message.senderId !== userId) throw new ApiError("forbidden", "Only the sender can change a message");
    return message;
  }

  private takeRateToken(userId: string): void {
    const now = Date.now();
    const entry = this.rate.get(userId);
    if (!entry || now - entry.start >= RATE_WINDOW_MS) {
      this.rate.set(userId, { start: now, count: 1 });
      return;
    }
    if (entry.count >= this.limits.messageRatePer10s) {
      throw new ApiError("rate_limited", "Too many messages; slow down", {
        retryAfterSeconds: Math.max(1, Math.ceil((entry.start + RATE_WINDOW_MS - now) / 1000)),
      });
    }
    entry.count++;
  }

  // ---- D1 outbox ----

  /**
   * Socket writes reach D1 in batches: one pass per OUTBOX_FLUSH_MS, not one D1 call per message.
   * (REST writes call mirrorNow instead, so REST clients read their writes in the D1-backed inbox.)
   */
  private queueMirror(): void {
    if (this.mirroring) return; // the running pass loops until nothing is dirty
    this.ensureAlarm(Date.now() + this.limits.outboxFlushMs);
  }

  /** Starts copying dirty rows to D1 unless a pass is running; never delays the caller. */
  private scheduleMirror(): Promise<void> {
    if (!this.mirroring) {
      this.mirroring = this.mirror().finally(() => {
        this.mirroring = null;
      });
      this.ctx.waitUntil(this.mirroring);
    }
    return this.mirroring;
  }

  /** Waits until D1 has everything stored so far (or one attempt failed: the alarm retries). */
  private async mirrorNow(): Promise<void> {
    if (this.mirroring) await this.mirroring;
    await this.scheduleMirror();
  }

  /**
   * REST writes answer once D1 has the change, so REST clients read their writes in the inbox;
   * but never later than REST_MIRROR_WAIT_MS: the change is durable in the room already, and a
   * slow D1 must not hold a request open (the outbox finishes the copy).
   */
  private async mirrorForRest(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.limits.restMirrorWaitMs);
    });
    try {
      await Promise.race([this.mirrorNow(), timeout]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  private async mirror(): Promise<void> {
    const meta = this.meta;
    if (!meta) return;
    const db = openDb(this.env.DB);
    for (;;) {
      const messages = this.store.dirtyMessages(MIRROR_BATCH);
      const reads = this.store.dirtyReads();
      if (messages.length === 0 && reads.length === 0) return;
      try {
        await mirrorConversation(db, meta.id, { messages, reads });
      } catch (err) {
        log("warn", "d1_mirror_failed", {
          conversationId: meta.id,
          pending: messages.length,
          ...describeError(err),
        });
        this.ensureAlarm(Date.now() + this.limits.outboxRetryMs);
        return;
      }
      this.store.transaction(() => {
        this.store.markSynced(messages);
        for (const r of reads) this.store.markReadSynced(r.userId, r.lastReadSeq);
      });
    }
  }

  // ---- inbox notifications ----

  /** Marks inboxes to be told about new activity, at most once per window per room. */
  private queueInboxNotify(userIds: "all" | string[]): void {
    if (userIds === "all") {
      if (!this.notifyAll) {
        this.store.writeFlag("notify_all", "1");
        this.notifyAll = true;
      }
    } else {
      for (const id of userIds) this.store.addInboxPending(id);
    }
    // A large group waits longer between notices: at least 2 ms per member, so a 500-member room
    // makes at most one call per member per second however busy it is.
    const window = Math.max(this.limits.inboxNotifyWindowMs, userIds === "all" ? 2 * this.activeCount : 0);
    this.inboxDueAt ??= Date.now() + window;
    this.ensureAlarm(this.inboxDueAt);
  }

  private ensureAlarm(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  private async announceCreated(userIds: string[]): Promise<void> {
    const shared = this.sharedView(false);
    await Promise.allSettled(
      userIds.map((userId) => {
        const member = this.members.get(userId);
        if (!member?.active) return Promise.resolve();
        return this.inbox(userId).notify([
          { type: "conversation.created", conversation: this.viewFor(member, shared) },
        ]);
      }),
    );
  }

  private inbox(userId: string) {
    return this.env.USER_INBOX.getByName(userId);
  }

  // ---- state ----

  private async rpc<T>(caller: RoomCaller, fn: (member: MemberRow) => T | Promise<T>): Promise<RpcResult<T>> {
    try {
      await this.ensureLoaded(caller.conversationId);
      this.commitPending();
      return { ok: true, value: await fn(this.requireMember(caller.userId)) };
    } catch (err) {
      if (err instanceof ApiError) return rpcFailure(err);
      log("error", "room_rpc_failed", { conversationId: caller.conversationId, ...describeError(err) });
      throw err;
    }
  }

  /** The first call of a new room loads the conversation and its members from D1, once. */
  private async ensureLoaded(conversationId: string): Promise<void> {
    if (this.meta) {
      if (this.meta.id !== conversationId) throw notFound("Conversation not found");
      return;
    }
    this.loading ??= this.ctx.blockConcurrencyWhile(async () => {
      if (this.meta) return;
      const snapshot = await loadRoomSnapshot(openDb(this.env.DB), conversationId);
      if (!snapshot) return;
      this.store.transaction(() => {
        this.store.writeMeta(snapshot.conversation);
        for (const m of snapshot.members) {
          this.store.upsertMember(m.user, m.joinedAt);
          if (!m.active) this.store.setMemberActive(m.user.id, false);
          if (m.lastReadSeq > 0) this.store.setLastRead(m.user.id, m.lastReadSeq);
        }
      });
      this.meta = snapshot.conversation;
      this.loadFromStorage();
    });
    try {
      await this.loading;
    } finally {
      this.loading = null;
    }
    if (this.requireMeta().id !== conversationId) throw notFound("Conversation not found");
  }

  /**
   * Presence events go to every socket whenever someone arrives or leaves: O(n²) as a room fills.
   * Rooms over PRESENCE_MAX_MEMBERS skip them; `ready.online` still tells who is there.
   */
  private get presenceOn(): boolean {
    return this.activeCount <= this.limits.presenceMaxMembers;
  }

  private get activeCount(): number {
    this.activeCountCache ??= [...this.members.values()].filter((m) => m.active).length;
    return this.activeCountCache;
  }

  private loadFromStorage(): void {
    this.activeCountCache = null;
    this.meta = this.store.readMeta();
    this.members = new Map(this.store.members().map((m) => [m.id, m]));
    this.lastSeq = this.store.lastSeq();
    this.notifyAll = this.store.readFlag("notify_all") === "1";
  }

  private requireMeta(): RoomMeta {
    if (!this.meta) throw notFound("Conversation not found");
    return this.meta;
  }

  /** Non-participants get the same 404 as a conversation that does not exist. */
  private requireMember(userId: string): MemberRow {
    const member = this.members.get(userId);
    if (!member?.active) throw notFound("Conversation not found");
    return member;
  }

  private messageView(m: StoredMessage): Message {
    return messageView(this.requireMeta().id, m, this.members.get(m.senderId));
  }

  /**
   * What every member's view of the conversation shares. Inbox events for very large groups carry
   * only the first participants (`forInbox`), so one message does not ship the whole member list to
   * every inbox.
   */
  private sharedView(forInbox: boolean): Omit<Conversation, "unreadCount" | "lastReadSeq"> {
    const meta = this.requireMeta();
    const last = this.lastSeq > 0 ? this.store.messageBySeq(this.lastSeq) : null;
    let participants: User[] = [...this.members.values()]
      .filter((m) => m.active)
      .toSorted((a, b) =>
        a.joinedAt === b.joinedAt ? (a.id < b.id ? -1 : 1) : a.joinedAt < b.joinedAt ? -1 : 1,
      )
      .map(({ id, firstName, lastName, avatarUrl }) => ({ id, firstName, lastName, avatarUrl }));
    if (forInbox) participants = participants.slice(0, INBOX_EVENT_PARTICIPANTS);
    return {
      id: meta.id,
      kind: meta.kind,
      title: meta.title,
      participants,
      createdAt: meta.createdAt,
      updatedAt: last && last.createdAt > meta.createdAt ? last.createdAt : meta.createdAt,
      lastSeq: this.lastSeq,
      lastMessage: last ? this.messageView(last) : null,
    };
  }

  /** The conversation as one member sees it (their unread count and read position). */
  private viewFor(member: MemberRow, shared = this.sharedView(false)): Conversation {
    return conversationView(shared, shared.participants, shared.lastMessage, member.lastReadSeq);
  }

  private broadcastEvent(event: RoomEvent, except?: WebSocket): void {
    this.sockets.broadcast(JSON.stringify(event), { except });
  }

  private sendError(ws: WebSocket, code: ErrorCode, message: string, clientId?: string): void {
    const event: RoomEvent =
      clientId === undefined ? { type: "error", code, message } : { type: "error", code, message, clientId };
    safeSend(ws, JSON.stringify(event));
  }

  private dropSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
    this.forgetSocket(ws);
  }

  private forgetSocket(ws: WebSocket): void {
    const attachment = this.sockets.remove(ws);
    if (
      attachment &&
      this.presenceOn &&
      this.sockets.countFor(attachment.userId) === 0 &&
      this.members.get(attachment.userId)?.active
    ) {
      this.broadcastEvent({ type: "presence", userId: attachment.userId, online: false });
    }
  }
}

const INBOX_EVENT_PARTICIPANTS = 100;

function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
