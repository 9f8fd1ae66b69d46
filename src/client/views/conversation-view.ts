import { CloseCode } from "../../protocol/close-codes";
import { type ClientFrame, type RoomEvent, RoomEventSchema } from "../../protocol/frames";
import type { Conversation, Me, Message, User } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { h, iconButton } from "../dom";
import { conversationName, fullName, newClientId, others } from "../format";
import { type InboxStore, wsUrl } from "../state/inbox";
import { type PendingMessage, ThreadState } from "../state/thread";
import { LiveSocket } from "../socket";
import { conversationAvatar } from "./avatar";
import { Composer } from "./composer";
import { ConnectionBadge } from "./connection-badge";
import { MessageList } from "./message-list";
import { toast } from "./toast";

export interface ConversationContext {
  api: Api;
  me: Me;
  token: () => string;
  inbox: InboxStore;
  /** Leaves the view (the phone's back button, or the conversation is gone). */
  close(notice?: string): void;
  openInfo(conversation: Conversation): void;
}

const PAGE = 50;
/** Typing is re-announced this often while it goes on; the server throttles to 2 s anyway. */
const TYPING_RESEND_MS = 2500;
/** Someone's typing indicator disappears if it is not renewed within this. */
const TYPING_TTL_MS = 6000;
/** After `ready`, the replay of missed messages should arrive within this; otherwise page over REST. */
const REPLAY_GRACE_MS = 1500;

/**
 * One open conversation: the history from REST, then the room socket from `since` = the last seq
 * held. Own messages show at once and are settled by their ack (or by the replay after a reconnect,
 * matched by clientId); everything is keyed by seq, so nothing shows twice.
 */
export class ConversationView {
  readonly el: HTMLElement;
  private readonly thread = new ThreadState();
  private readonly list: MessageList;
  private readonly composer: Composer;
  private readonly badge = new ConnectionBadge("Conversation");
  private readonly title = h("h2", { class: "thread-name" });
  private readonly subtitle = h("p", { class: "thread-sub" });
  private readonly avatarSlot = h("span", { class: "avatar-slot" });
  private readonly typingLine = h("div", { class: "typing", "aria-live": "polite" });
  private conversation: Conversation | null = null;
  private socket: LiveSocket<RoomEvent> | null = null;
  private readonly online = new Set<string>();
  private readonly typing = new Map<string, number>();
  private readonly readBy = new Map<string, number>();
  private readonly users = new Map<string, User>();
  private lastReadSent = 0;
  private typingSentAt = 0;
  private loadingOlder = false;
  private filling = false;
  private destroyed = false;
  private replayTimer: number | undefined;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    readonly conversationId: string,
    private readonly ctx: ConversationContext,
  ) {
    this.list = new MessageList(ctx.me.id, {
      onEdit: (m) => this.composer.startEdit(m),
      onDelete: (m) => void this.deleteMessage(m),
      onRetry: (p) => this.retry(p),
      onDiscard: (p) => {
        this.thread.pending.delete(p.clientId);
        this.renderPending();
      },
      onNearTop: () => void this.loadOlder(),
      onScrolledToBottom: () => this.markRead(),
    });
    this.composer = new Composer({
      onSend: (text) => this.send(text),
      onSaveEdit: (m, text) => void this.saveEdit(m, text),
      onTyping: (active) => this.reportTyping(active),
      onEditLast: () => this.editLast(),
    });
    const back = iconButton("back", "Back to conversations", { class: "back" });
    back.addEventListener("click", () => ctx.close());
    const info = iconButton("info", "Conversation details");
    info.addEventListener("click", () => this.conversation && ctx.openInfo(this.conversation));
    const header = h(
      "header",
      { class: "thread-header" },
      back,
      this.avatarSlot,
      h("div", { class: "thread-title" }, this.title, this.subtitle),
      this.badge.el,
      info,
    );
    this.el = h("section", { class: "thread", "aria-labelledby": "thread-name", "data-conversation-id": conversationId }, header, this.list.el, this.typingLine, this.composer.el);
    this.title.id = "thread-name";
    const cached = ctx.inbox.get(conversationId);
    if (cached) this.setConversation(cached);
    else this.title.textContent = "Loading…";
    const onVisible = () => this.markRead();
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(() => document.removeEventListener("visibilitychange", onVisible));
    this.cleanups.push(ctx.inbox.subscribe(() => this.onInboxChange()));
    void this.load();
  }

  focus(): void {
    this.composer.focus();
  }

  destroy(): void {
    this.destroyed = true;
    this.reportTyping(false);
    this.socket?.stop();
    this.badge.destroy();
    window.clearTimeout(this.replayTimer);
    for (const timer of this.typing.values()) window.clearTimeout(timer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private async load(): Promise<void> {
    try {
      const [conversation, page] = await Promise.all([
        this.ctx.api.conversation(this.conversationId),
        this.ctx.api.history(this.conversationId, {}, PAGE),
      ]);
      if (this.destroyed) return;
      this.setConversation(conversation);
      this.lastReadSent = conversation.lastReadSeq;
      this.thread.loadLatest(page.messages, page.hasMore);
      for (const m of page.messages) this.showMessage(m);
      this.list.markUnreadAfter(conversation.lastReadSeq);
      this.list.scrollToBottom();
      this.refreshStatus();
      this.connect();
      this.fillViewport();
    } catch (err) {
      if (this.destroyed) return;
      if (err instanceof ApiError && err.status === 404) this.ctx.close("That conversation is not available.");
      else if (!(err instanceof ApiError && err.status === 401)) {
        this.title.textContent = "Could not load this conversation";
        this.subtitle.textContent = err instanceof Error ? err.message : "";
      }
    }
  }

  private connect(): void {
    this.socket = new LiveSocket<RoomEvent>({
      url: () =>
        wsUrl(`/api/conversations/${encodeURIComponent(this.conversationId)}/ws`, {
          access_token: this.ctx.token(),
          since: String(this.thread.contiguousSeq),
        }),
      schema: RoomEventSchema,
      onEvent: (event) => this.onEvent(event),
      onState: (state, retryIn) => {
        this.badge.set(state, retryIn);
        this.el.dataset.connection = state;
        if (state !== "open") this.clearTyping();
      },
      onFatal: (code) => {
        if (code === CloseCode.notParticipant) this.ctx.close("You are no longer in that conversation.");
        else void this.ctx.api.me().catch(() => undefined); // 4401: a 401 here signs out
      },
      onUnreachable: (failures) => {
        if (failures !== 2) return;
        // An upgrade refused with 401/404 looks like a network error to the page: ask over REST.
        this.ctx.api.conversation(this.conversationId).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404) this.ctx.close("That conversation is not available.");
        });
      },
    });
    this.socket.start();
  }

  private onEvent(event: RoomEvent): void {
    switch (event.type) {
      case "ready":
        this.online.clear();
        for (const id of event.online) this.online.add(id);
        this.thread.knownLastSeq = Math.max(this.thread.knownLastSeq, event.lastSeq);
        this.renderSubtitle();
        // Messages typed while disconnected go now; the same clientId never makes a second copy.
        for (const p of this.thread.pending.values()) if (!p.error) this.transmit(p);
        window.clearTimeout(this.replayTimer);
        this.replayTimer = window.setTimeout(() => void this.fillGap(), REPLAY_GRACE_MS);
        this.markRead();
        return;
      case "message":
      case "ack":
      case "message.updated":
      case "message.deleted":
        this.receive(event.message);
        return;
      case "typing":
        this.setTyping(event.userId, event.active);
        return;
      case "read":
        this.readBy.set(event.userId, Math.max(this.readBy.get(event.userId) ?? 0, event.seq));
        this.refreshStatus();
        return;
      case "presence":
        if (event.online) this.online.add(event.userId);
        else this.online.delete(event.userId);
        this.renderSubtitle();
        return;
      case "error": {
        const pending = event.clientId ? this.thread.pending.get(event.clientId) : undefined;
        if (pending) {
          pending.error = event.code === "rate_limited" ? "sending too fast" : event.message;
          this.renderPending();
        } else {
          toast(event.message, "error");
        }
        return;
      }
    }
  }

  /** Any confirmed message, from a live event, an ack, a replay or a REST page. */
  private receive(message: Message): void {
    const wasAtBottom = this.list.isNearBottom();
    const settles = message.clientId !== null && this.thread.pending.has(message.clientId);
    const result = this.thread.upsert(message);
    if (settles) this.renderPending();
    if (result === "same") return;
    this.showMessage(message);
    if (result === "added") {
      const own = message.sender.id === this.ctx.me.id;
      if (!own) this.setTyping(message.sender.id, false);
      if (own || wasAtBottom) this.list.scrollToBottom();
      else this.list.noteUnseen();
      if (this.thread.hasGap) void this.fillGap();
      this.markRead();
    }
    this.refreshStatus();
  }

  private showMessage(message: Message): void {
    this.users.set(message.sender.id, message.sender);
    // Sending implies having read everything before (the server moves the sender's read position).
    if (message.sender.id !== this.ctx.me.id) {
      this.readBy.set(message.sender.id, Math.max(this.readBy.get(message.sender.id) ?? 0, message.seq));
    }
    this.list.upsert(message);
  }

  /** Pages over REST whatever the socket's replay did not cover (more than its 500, or a gap). */
  private async fillGap(): Promise<void> {
    if (this.filling || this.destroyed) return;
    this.filling = true;
    try {
      while (this.thread.hasGap && !this.destroyed) {
        const page = await this.ctx.api.history(this.conversationId, { after: this.thread.contiguousSeq }, 100);
        for (const m of page.messages) this.receive(m);
        if (!page.hasMore || page.messages.length === 0) break;
      }
    } catch {
      // The next reconnect or message tries again.
    } finally {
      this.filling = false;
    }
  }

  private async loadOlder(): Promise<void> {
    if (this.loadingOlder || !this.thread.hasMoreBefore || !Number.isFinite(this.thread.oldestSeq)) return;
    this.loadingOlder = true;
    this.list.setLoading(true);
    try {
      const page = await this.ctx.api.history(this.conversationId, { before: this.thread.oldestSeq }, PAGE);
      if (this.destroyed) return;
      this.list.keepPosition(() => {
        this.list.setLoading(false);
        this.thread.loadOlder(page.messages, page.hasMore);
        for (const m of page.messages) this.showMessage(m);
      });
      this.refreshStatus();
    } catch {
      toast("Could not load earlier messages", "error");
    } finally {
      this.loadingOlder = false;
      this.list.setLoading(false);
    }
    this.fillViewport();
  }

  /** A short history that does not fill the screen cannot be scrolled up: load more at once. */
  private fillViewport(): void {
    if (this.thread.hasMoreBefore && this.list.fitsWithoutScrolling()) void this.loadOlder();
  }

  private send(text: string): void {
    const pending: PendingMessage = { clientId: newClientId(), body: text, createdAt: new Date().toISOString(), error: null };
    this.thread.pending.set(pending.clientId, pending);
    this.renderPending();
    this.list.scrollToBottom();
    this.transmit(pending);
  }

  private retry(pending: PendingMessage): void {
    pending.error = null;
    this.renderPending();
    this.transmit(pending);
  }

  private transmit(pending: PendingMessage): void {
    this.frame({ type: "send", body: pending.body, clientId: pending.clientId });
  }

  private frame(frame: ClientFrame): boolean {
    return this.socket?.send(frame) ?? false;
  }

  private async saveEdit(message: Message, body: string): Promise<void> {
    try {
      this.receive(await this.ctx.api.editMessage(this.conversationId, message.id, body));
    } catch (err) {
      toast(err instanceof Error ? `Could not edit: ${err.message}` : "Could not edit the message", "error");
    }
  }

  private async deleteMessage(message: Message): Promise<void> {
    if (!window.confirm("Delete this message for everyone?")) return;
    try {
      await this.ctx.api.deleteMessage(this.conversationId, message.id);
      this.receive({ ...message, body: "", deletedAt: new Date().toISOString() });
    } catch (err) {
      toast(err instanceof Error ? `Could not delete: ${err.message}` : "Could not delete the message", "error");
    }
  }

  private editLast(): void {
    for (const seq of this.thread.seqs().reverse()) {
      const m = this.thread.get(seq);
      if (m && m.sender.id === this.ctx.me.id && !m.deletedAt) {
        this.composer.startEdit(m);
        return;
      }
    }
  }

  /** Tells the room how far I have read, when I can actually see the newest messages. */
  private markRead(): void {
    const seq = this.thread.contiguousSeq;
    if (seq <= this.lastReadSent || document.visibilityState !== "visible" || !this.list.isNearBottom()) return;
    if (!this.frame({ type: "read", seq })) return;
    this.lastReadSent = seq;
    this.ctx.inbox.markSeen(this.conversationId, seq);
  }

  private reportTyping(active: boolean): void {
    const now = Date.now();
    if (active) {
      if (now - this.typingSentAt < TYPING_RESEND_MS) return;
      if (this.frame({ type: "typing", active: true })) this.typingSentAt = now;
    } else if (this.typingSentAt > 0) {
      this.typingSentAt = 0;
      this.frame({ type: "typing", active: false });
    }
  }

  private setTyping(userId: string, active: boolean): void {
    window.clearTimeout(this.typing.get(userId));
    if (active) this.typing.set(userId, window.setTimeout(() => this.setTyping(userId, false), TYPING_TTL_MS));
    else this.typing.delete(userId);
    const names = [...this.typing.keys()].map((id) => this.userName(id));
    this.typingLine.replaceChildren();
    if (names.length === 0) return;
    const who = names.length === 1 ? `${names[0]} is` : names.length === 2 ? `${names[0]} and ${names[1]} are` : "Several people are";
    this.typingLine.append(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), `${who} typing…`);
  }

  private clearTyping(): void {
    for (const id of this.typing.keys()) this.setTyping(id, false);
  }

  private renderPending(): void {
    this.list.setPending([...this.thread.pending.values()]);
  }

  private refreshStatus(): void {
    const last = this.thread
      .seqs()
      .reverse()
      .map((s) => this.thread.get(s))
      .find((m) => m?.sender.id === this.ctx.me.id);
    const participants = this.conversation ? others(this.conversation, this.ctx.me.id) : [];
    const seenBy = last ? participants.filter((p) => p.id !== this.ctx.me.id && (this.readBy.get(p.id) ?? 0) >= last.seq) : [];
    this.list.setStatus(seenBy);
  }

  private onInboxChange(): void {
    const fresh = this.ctx.inbox.get(this.conversationId);
    if (fresh && this.conversation && fresh.participants.length !== this.conversation.participants.length) this.setConversation(fresh);
  }

  private setConversation(conversation: Conversation): void {
    this.conversation = conversation;
    for (const p of conversation.participants) this.users.set(p.id, p);
    this.title.textContent = conversationName(conversation, this.ctx.me.id);
    this.avatarSlot.replaceChildren(conversationAvatar(conversation, this.ctx.me.id, "md"));
    this.renderSubtitle();
  }

  private renderSubtitle(): void {
    const c = this.conversation;
    if (!c) return;
    const rest = others(c, this.ctx.me.id);
    if (c.kind === "direct") {
      const other = rest[0];
      const online = other !== undefined && this.online.has(other.id);
      this.subtitle.textContent = online ? "Online" : "Direct message";
      this.subtitle.classList.toggle("online", online);
    } else {
      const count = rest.filter((p) => this.online.has(p.id)).length;
      this.subtitle.textContent = `${c.participants.length} members${count ? ` · ${count} online` : ""}`;
      this.subtitle.classList.toggle("online", count > 0);
    }
  }

  private userName(id: string): string {
    const user = this.users.get(id);
    return user ? user.firstName || fullName(user) : "Someone";
  }
}
