import { InboxEventSchema } from "../../protocol/client-schemas";
import type { InboxEvent } from "../../protocol/frames";
import type { Conversation } from "../../protocol/models";
import type { Api } from "../api";
import { LiveSocket, type SocketState } from "../socket";

/**
 * The caller's conversations, most recent activity first, kept live by the inbox socket. The inbox
 * object keeps no history of events, so after every (re)connect the first page is fetched again
 * over REST.
 */
export class InboxStore {
  private readonly byId = new Map<string, Conversation>();
  /** What this tab has read locally but the server may not have counted yet (no badge flicker). */
  private readonly seenUpTo = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  /** Told of each live update with the copy it replaced (in-tab notifications). */
  private readonly liveListeners = new Set<(c: Conversation, before: Conversation | undefined) => void>();
  private readonly socket: LiveSocket<InboxEvent>;
  nextCursor: string | null = null;
  loaded = false;
  loadError: string | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly api: Api,
    onState: (state: SocketState, retryInMs: number) => void,
    onFatal: (code: number) => void,
  ) {
    this.socket = new LiveSocket<InboxEvent>({
      url: async () => wsUrl("/api/inbox/ws", { ticket: (await api.wsTicket()).ticket }),
      schema: InboxEventSchema,
      onEvent: (event) => this.onEvent(event),
      onState,
      onFatal,
      // A refused upgrade looks like a network error: ask REST, which says 401 if the session is over.
      onUnreachable: (failures) => {
        if (failures === 2) void this.api.me().catch(() => undefined);
      },
    });
  }

  start(): void {
    this.socket.start();
    void this.refresh();
  }

  stop(): void {
    this.socket.stop();
    this.listeners.clear();
    this.liveListeners.clear();
  }

  onLive(listener: (c: Conversation, before: Conversation | undefined) => void): void {
    this.liveListeners.add(listener);
  }

  /** The token was renewed: move to a socket opened with it (see LiveSocket.rollover). */
  rollover(): void {
    this.socket.rollover();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): Conversation[] {
    return [...this.byId.values()].sort((a, b) =>
      a.updatedAt === b.updatedAt ? (a.id < b.id ? 1 : -1) : a.updatedAt < b.updatedAt ? 1 : -1,
    );
  }

  get(id: string): Conversation | undefined {
    return this.byId.get(id);
  }

  /** Unread count as this tab knows it: the server's, less what was read here since. */
  unread(conversation: Conversation): number {
    const seen = this.seenUpTo.get(conversation.id) ?? 0;
    return Math.max(0, Math.min(conversation.unreadCount, conversation.lastSeq - seen));
  }

  markSeen(id: string, seq: number): void {
    if ((this.seenUpTo.get(id) ?? 0) >= seq) return;
    this.seenUpTo.set(id, seq);
    this.emit();
  }

  /** A conversation this tab opened or created (the socket event may come later). */
  put(conversation: Conversation): void {
    this.upsert(conversation, true);
    this.emit();
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.api
      .inbox(null)
      .then((page) => {
        const fresh = new Set(page.conversations.map((c) => c.id));
        const oldest = page.conversations.at(-1)?.updatedAt ?? "";
        // Anything newer than the page's end that the page lacks was hidden or left meanwhile.
        for (const [id, c] of this.byId)
          if (!fresh.has(id) && (c.updatedAt >= oldest || !page.nextCursor)) this.byId.delete(id);
        for (const c of page.conversations) this.upsert(c, false);
        this.nextCursor = page.nextCursor;
        this.loaded = true;
        this.loadError = null;
      })
      .catch((err: unknown) => {
        this.loadError = err instanceof Error ? err.message : "Could not load conversations";
      })
      .finally(() => {
        this.refreshing = null;
        this.emit();
      });
    return this.refreshing;
  }

  async loadMore(): Promise<void> {
    if (!this.nextCursor) return;
    const page = await this.api.inbox(this.nextCursor);
    for (const c of page.conversations) this.upsert(c, false);
    this.nextCursor = page.nextCursor;
    this.emit();
  }

  private onEvent(event: InboxEvent): void {
    switch (event.type) {
      case "ready":
        // Not the first: events may have been missed while disconnected.
        if (this.loaded) void this.refresh();
        return;
      case "conversation.created":
      case "conversation.updated": {
        const before = this.byId.get(event.conversation.id);
        this.upsert(event.conversation, true);
        for (const listener of this.liveListeners) listener(event.conversation, before);
        break;
      }
      case "conversation.removed":
        this.byId.delete(event.conversationId);
        break;
      case "error":
        console.warn("inbox:", event.code, event.message);
        return;
    }
    this.emit();
  }

  /** Live events always win; a REST page never replaces a copy with newer messages. */
  private upsert(conversation: Conversation, live: boolean): void {
    const existing = this.byId.get(conversation.id);
    if (!live && existing && existing.lastSeq > conversation.lastSeq) return;
    this.byId.set(conversation.id, conversation);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** A ws:/wss: URL on this origin. */
export function wsUrl(path: string, params: Record<string, string>): string {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}
