import type { ClientFrame } from "../../protocol/frames";
import type { Attachment, Conversation, Me, Message, ReadPosition, User } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { h } from "../dom";
import { fullName, newClientId, others } from "../format";
import type { InboxStore } from "../state/inbox";
import type { PendingSends } from "../state/pending";
import { ReaderSignals } from "../state/reader-signals";
import { RoomLink, sendFrame } from "../state/room-link";
import { type PendingMessage, ThreadState } from "../state/thread";
import { acceptDrops } from "./attachments";
import { Composer } from "./composer";
import { ConversationFeatures } from "./conversation-features";
import { MessageList } from "./message-list";
import { ThreadHeader } from "./thread-header";
import { toast, toastFailure } from "./toast";
import { TypingIndicator } from "./typing-indicator";

export interface ConversationContext {
  api: Api;
  me: Me;
  inbox: InboxStore;
  /** My unconfirmed messages of every conversation: they outlive this view. */
  pending: PendingSends;
  /** Leaves the view (the phone's back button, or the conversation is gone). */
  close(notice?: string): void;
  openInfo(conversation: Conversation): void;
  /** A person's profile (message them, block them). */
  openProfile(user: User): void;
}

const PAGE = 50;
/** A failed first load is tried again at once when the browser comes online, else after this (doubling). */
const RELOAD_FIRST_MS = 1000;
const RELOAD_MAX_MS = 30_000;

/**
 * One open conversation: the latest page from REST, then the live room (see RoomLink). Own
 * messages show at once and are settled by their ack, or by the replay after a reconnect (matched
 * by sender and clientId); everything is keyed by seq, so nothing shows twice. Messages still
 * sending belong to the session (PendingSends), not to the view: they show again when the view
 * reopens, and are resent after its socket's `ready`.
 */
export class ConversationView {
  readonly el: HTMLElement;
  /** Shared with the Courier when the view closes with messages still sending. */
  readonly thread: ThreadState;
  private readonly list: MessageList;
  private readonly composer: Composer;
  private readonly header: ThreadHeader;
  private readonly features: ConversationFeatures;
  private readonly typing = new TypingIndicator((id) => this.userName(id));
  private link: RoomLink | null = null;
  private readonly online = new Set<string>();
  private readonly users = new Map<string, User>();
  private readonly reader = new ReaderSignals((frame) => this.frame(frame));
  /** The older page being loaded, if one is. */
  private loadingOlder: Promise<void> | null = null;
  private destroyed = false;
  private reloadTimer: number | undefined;
  private reloadDelay = RELOAD_FIRST_MS;
  private readonly cleanups: (() => void)[] = [];

  /** `at`: a message to show once loaded (a search result), instead of the newest. */
  constructor(
    readonly conversationId: string,
    private readonly ctx: ConversationContext,
    private readonly at?: number,
  ) {
    this.thread = new ThreadState(ctx.me.id, ctx.pending.of(conversationId));
    this.list = new MessageList(ctx.me.id, {
      onEdit: (m) => this.composer.startEdit(m),
      onDelete: (m) => void this.deleteMessage(m),
      onRetry: (p) => {
        p.error = null;
        this.renderPending();
        this.transmit(p);
      },
      onDiscard: (p) => {
        this.thread.pending.delete(p.clientId);
        this.renderPending();
      },
      onNearTop: () => void this.loadOlder(),
      onScrolledToBottom: () => this.markRead(),
      onReply: (m) => this.composer.startReply(m, ctx.me.id),
      onReact: (m, emoji, active) => void this.features.react(m, emoji, active),
      onJump: (quote) => void this.features.jumpTo(quote.seq),
      onStaleFile: (m) => void this.features.refreshFiles(m),
      myReactions: (seq) => this.thread.myReactions(seq),
      onPerson: (user) => ctx.openProfile(user),
    });
    this.composer = new Composer({
      onSend: (text, replyTo, files) => this.send(text, replyTo?.id, files),
      upload: (file, name, progress) => ctx.api.upload(conversationId, file, name, progress),
      onSaveEdit: (m, text) => void this.saveEdit(m, text),
      onTyping: (active) => {
        if (!this.destroyed) this.reader.typing(active);
      },
      onEditLast: () => this.editLast(),
    });
    this.header = new ThreadHeader(
      ctx.me,
      () => ctx.close(),
      (c) => ctx.openInfo(c),
      (muted) => void this.features.setMuted(muted),
    );
    this.features = new ConversationFeatures({
      api: ctx.api,
      inbox: ctx.inbox,
      conversationId,
      thread: this.thread,
      list: this.list,
      frame: (frame) => this.frame(frame),
      current: () => this.header.current,
      setConversation: (c) => this.setConversation(c),
      loadOlder: () => this.loadOlder(),
      receive: (m) => this.receive(m),
      destroyed: () => this.destroyed,
    });
    this.el = h(
      "section",
      { class: "thread", "aria-labelledby": "thread-name", "data-conversation-id": conversationId },
      this.header.el,
      this.list.el,
      this.typing.el,
      this.composer.el,
    );
    acceptDrops(this.el, (files) => this.composer.addFiles(files));
    const cached = ctx.inbox.get(conversationId);
    if (cached) this.setConversation(cached);
    this.renderPending();
    const onVisible = () => this.markRead();
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(() => document.removeEventListener("visibilitychange", onVisible));
    this.cleanups.push(ctx.inbox.subscribe(() => this.features.onInboxChange()));
    void this.load();
  }

  focus(): void {
    this.composer.focus();
  }

  /** Shows message `seq` (a search result), loading older pages until it is there. */
  jumpTo(seq: number): Promise<void> {
    return this.features.jumpTo(seq);
  }

  /** The token was renewed: the room socket moves to a fresh ticket. */
  rollover(): void {
    this.link?.rollover();
  }

  destroy(): void {
    this.reader.close();
    this.destroyed = true;
    clearTimeout(this.reloadTimer);
    this.link?.stop();
    this.header.destroy();
    this.typing.clear();
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
      this.reader.loaded(conversation.lastReadSeq);
      this.noteReads(conversation.reads);
      this.thread.loadLatest(page.messages, page.hasMore);
      for (const m of page.messages) this.showMessage(m);
      this.list.markUnreadAfter(conversation.lastReadSeq);
      this.list.scrollToBottom();
      this.refreshStatus();
      this.connect();
      if (this.at !== undefined) void this.jumpTo(this.at);
      else this.fillViewport();
    } catch (err) {
      if (this.destroyed) return;
      if (err instanceof ApiError && err.status === 404)
        this.ctx.close("That conversation is not available.");
      else if (!(err instanceof ApiError && err.status === 401)) {
        this.header.setProblem("Could not load this conversation", err instanceof Error ? err.message : "");
        this.reloadLater();
      }
    }
  }

  /** Offline or a server hiccup: load again (at once when the browser is back online). */
  private reloadLater(): void {
    const again = () => {
      removeEventListener("online", again);
      clearTimeout(this.reloadTimer);
      if (!this.destroyed) void this.load();
    };
    addEventListener("online", again);
    this.cleanups.push(() => removeEventListener("online", again));
    this.reloadTimer = setTimeout(again, this.reloadDelay);
    this.reloadDelay = Math.min(RELOAD_MAX_MS, this.reloadDelay * 2);
  }

  private connect(): void {
    this.link = new RoomLink(this.ctx.api, this.conversationId, this.thread, {
      onMessage: (m) => this.receive(m),
      onReady: (online, reads) => {
        this.online.clear();
        for (const id of online) this.online.add(id);
        this.header.setOnline(this.online);
        this.noteReads(reads);
        this.refreshStatus();
        this.markRead();
      },
      onTyping: (userId, active) => {
        if (userId !== this.ctx.me.id) this.typing.set(userId, active);
      },
      onRead: (userId, seq) => {
        this.thread.noteRead(userId, seq);
        this.refreshStatus();
      },
      onPresence: (userId, online) => {
        if (online) this.online.add(userId);
        else this.online.delete(userId);
        this.header.setOnline(this.online);
      },
      onError: (message, code, clientId) => {
        const pending = clientId === undefined ? undefined : this.thread.pending.get(clientId);
        if (!pending) {
          toast(message, "error");
          return;
        }
        pending.error = code === "rate_limited" ? "sending too fast" : message;
        this.renderPending();
      },
      onState: (state, retryIn) => {
        this.header.setSocketState(state, retryIn);
        this.el.dataset.connection = state;
        if (state !== "open") this.typing.clear();
      },
      onGone: (notice) => this.ctx.close(notice),
      ...this.features.linkHandlers(),
    });
    this.link.start();
  }

  /** Any confirmed message, from a live event, an ack, a replay or a REST page. */
  private receive(message: Message): void {
    const wasAtBottom = this.list.isNearBottom();
    const settles = this.thread.settles(message);
    const result = this.thread.upsert(message);
    if (settles) this.renderPending();
    if (result === "same") return;
    this.showMessage(message);
    if (result === "added") {
      const own = message.sender?.id === this.ctx.me.id;
      if (message.sender && !own) this.typing.set(message.sender.id, false);
      if (own || wasAtBottom) this.list.scrollToBottom();
      else this.list.noteUnseen();
      this.markRead();
    }
    this.refreshStatus();
  }

  private showMessage(message: Message): void {
    const { sender } = message;
    if (sender) {
      this.users.set(sender.id, sender);
      // Sending implies having read everything before (the server moves the sender's read position).
      this.thread.noteRead(sender.id, message.seq);
    }
    this.list.upsert(message);
  }

  /** Loads the next older page, or answers the load already under way. */
  private loadOlder(): Promise<void> {
    if (this.loadingOlder || !this.thread.hasMoreBefore || !Number.isFinite(this.thread.oldestSeq))
      return this.loadingOlder ?? Promise.resolve();
    this.loadingOlder = this.fetchOlder().finally(() => {
      this.loadingOlder = null;
      this.fillViewport();
    });
    return this.loadingOlder;
  }

  private async fetchOlder(): Promise<void> {
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
      this.list.setLoading(false);
    }
  }

  /** A short history that does not fill the screen cannot be scrolled up: load more at once. */
  private fillViewport(): void {
    if (this.thread.hasMoreBefore && this.list.fitsWithoutScrolling()) void this.loadOlder();
  }

  private send(text: string, replyTo: string | undefined, attachments: Attachment[]): void {
    const pending: PendingMessage = {
      clientId: newClientId(),
      body: text,
      replyTo,
      attachments,
      createdAt: new Date().toISOString(),
      error: null,
    };
    this.thread.pending.set(pending.clientId, pending);
    this.renderPending();
    this.list.scrollToBottom();
    this.transmit(pending);
  }

  /** If the socket is down the message waits: RoomLink sends it after the next `ready`. */
  private transmit(pending: PendingMessage): void {
    this.frame(sendFrame(pending));
  }

  private frame(frame: ClientFrame): boolean {
    return this.link?.send(frame) ?? false;
  }

  private async saveEdit(message: Message, body: string): Promise<void> {
    try {
      this.receive(await this.ctx.api.editMessage(this.conversationId, message.id, body));
    } catch (err) {
      toastFailure(err, "Could not edit");
    }
  }

  private async deleteMessage(message: Message): Promise<void> {
    if (!confirm("Delete this message for everyone?")) return;
    try {
      await this.ctx.api.deleteMessage(this.conversationId, message.id);
      this.receive({ ...message, body: "", deletedAt: new Date().toISOString() });
    } catch (err) {
      toastFailure(err, "Could not delete");
    }
  }

  private editLast(): void {
    const mine = this.thread.readReceipt(this.ctx.me.id, [])?.message;
    if (mine && !mine.deletedAt) this.composer.startEdit(mine);
  }

  /** Marks what I can actually see (the newest messages, in a visible tab) as read. */
  private markRead(): void {
    const seq = this.thread.contiguousSeq;
    if (seq <= this.reader.toldSeq || document.visibilityState !== "visible" || !this.list.isNearBottom())
      return;
    this.ctx.inbox.markSeen(this.conversationId, seq);
    this.reader.read(seq);
  }

  /** Everyone's positions as the server has them (a conversation, a `ready`): "seen by" after a reload. */
  private noteReads(reads: readonly ReadPosition[]): void {
    for (const r of reads) this.thread.noteRead(r.userId, r.lastReadSeq);
  }

  private renderPending(): void {
    this.list.setPending([...this.thread.pending.values()]);
  }

  /** "Sent" or "Seen by …" under my newest message. */
  private refreshStatus(): void {
    const conversation = this.header.current;
    const receipt = this.thread.readReceipt(
      this.ctx.me.id,
      conversation ? others(conversation, this.ctx.me.id) : [],
    );
    this.list.setStatus(receipt?.message.seq ?? null, receipt?.seenBy ?? []);
  }

  private setConversation(conversation: Conversation): void {
    for (const p of conversation.participants) this.users.set(p.id, p);
    this.header.setConversation(conversation);
  }

  private userName(id: string): string {
    const user = this.users.get(id);
    return user ? user.firstName || fullName(user) : "Someone";
  }
}
