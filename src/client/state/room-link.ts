import { CloseCode } from "../../protocol/close-codes";
import { RoomEventSchema } from "../../protocol/client-schemas";
import type { ClientFrame, RoomEvent } from "../../protocol/frames";
import type { Message, ReadPosition } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { LiveSocket, type SocketState } from "../socket";
import { wsUrl } from "./inbox";
import type { PendingMessage, ThreadState } from "./thread";

/** After `ready`, the replay of missed messages should arrive within this; otherwise page over REST. */
const REPLAY_GRACE_MS = 1500;
const GAP_PAGE = 100;

export interface RoomLinkHandlers {
  /** Every confirmed message: live, ack, replay, REST catch-up, edit, delete. The view upserts it into the thread. */
  onMessage(message: Message): void;
  /** The socket is (back) up: who is online and how far everyone has read, as of now. */
  onReady(online: string[], reads: ReadPosition[]): void;
  onTyping(userId: string, active: boolean): void;
  onRead(userId: string, seq: number): void;
  onPresence(userId: string, online: boolean): void;
  /** The room refused one of my messages (its clientId), or something else. */
  onError(message: string, code: string, clientId: string | undefined): void;
  onState(state: SocketState, retryInMs: number): void;
  /** The conversation is no longer mine (left, removed, never was). */
  onGone(notice: string): void;
  /** Someone reacted or took a reaction back (only a view that shows messages cares). */
  onReaction?(event: Extract<RoomEvent, { type: "reaction" }>): void;
  /** A message was edited or deleted, loaded or not: the replies quoting it change with it. */
  onOriginalChanged?(message: Message): void;
  /** The group was renamed, or someone left or was removed. */
  onConversationChanged?(
    event: Extract<RoomEvent, { type: "conversation.updated" | "participant.removed" }>,
  ): void;
}

/**
 * The room socket of one conversation, with the guarantees of API.md made good on the client: it
 * connects with `since` = the last seq held without a gap, so the replay fills exactly what was
 * missed; anything the replay could not cover (over its limit, or a gap seen later) is paged over
 * REST with `after=`; messages still waiting for their ack are sent again after every `ready`
 * under the same clientId, which the room deduplicates.
 */
export class RoomLink {
  private readonly socket: LiveSocket<RoomEvent>;
  private replayTimer: number | undefined;
  private filling = false;
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly conversationId: string,
    private readonly thread: ThreadState,
    private readonly handlers: RoomLinkHandlers,
    /** `catchUp: false`: only deliver pending sends (no replay with `since`, no REST paging). */
    private readonly options: { catchUp?: boolean } = {},
  ) {
    const catchUp = options.catchUp ?? true;
    this.socket = new LiveSocket<RoomEvent>({
      url: async () => {
        const { ticket } = await api.wsTicket();
        return wsUrl(`/api/conversations/${encodeURIComponent(conversationId)}/ws`, {
          ticket,
          // Read after the ticket arrived: the latest seq held.
          ...(catchUp ? { since: String(thread.contiguousSeq) } : {}),
          // Messages committed together arrive in one frame.
          batch: "1",
        });
      },
      schema: RoomEventSchema,
      onEvent: (event) => this.onEvent(event),
      onState: (state, retryIn) => handlers.onState(state, retryIn),
      onFatal: (code) => {
        if (code === CloseCode.notParticipant) handlers.onGone("You are no longer in that conversation.");
      },
      onUnreachable: (failures) => {
        if (failures !== 2) return;
        // An upgrade refused with 401 or 404 looks like a network error to the page: ask REST.
        api.conversation(conversationId).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404)
            handlers.onGone("That conversation is not available.");
        });
      },
    });
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.replayTimer);
    this.socket.stop();
  }

  /** The token was renewed: move to a socket opened with it, missing nothing (see LiveSocket.rollover). */
  rollover(): void {
    this.socket.rollover();
  }

  /** Sends a frame now if the socket is open; false otherwise (pending sends go after the next ready). */
  send(frame: ClientFrame): boolean {
    return this.socket.send(frame);
  }

  /** Pages over REST whatever the socket's replay did not cover. */
  async fillGap(): Promise<void> {
    if (this.filling || this.stopped) return;
    this.filling = true;
    try {
      while (this.thread.hasGap && !this.stopped) {
        const page = await this.api.history(
          this.conversationId,
          { after: this.thread.contiguousSeq },
          GAP_PAGE,
        );
        for (const m of page.messages) this.handlers.onMessage(m);
        if (!page.hasMore || page.messages.length === 0) break;
      }
    } catch {
      // The next message or reconnect tries again.
    } finally {
      this.filling = false;
    }
  }

  private onEvent(event: RoomEvent): void {
    const h = this.handlers;
    switch (event.type) {
      case "ready":
        this.thread.knownLastSeq = Math.max(this.thread.knownLastSeq, event.lastSeq);
        h.onReady(event.online, event.reads);
        for (const p of this.thread.pending.values()) {
          if (!p.error) this.send(sendFrame(p));
        }
        if (this.options.catchUp === false) return;
        clearTimeout(this.replayTimer);
        this.replayTimer = setTimeout(() => void this.fillGap(), REPLAY_GRACE_MS);
        return;
      case "message":
      case "ack": {
        // Replayed messages arrive in order; one that skips seqs means the replay stopped at its
        // limit (or something was lost): fetch the rest now rather than after the grace period.
        const skips = event.message.seq > this.thread.contiguousSeq + 1;
        h.onMessage(event.message);
        if (skips && this.thread.hasGap && this.options.catchUp !== false) void this.fillGap();
        return;
      }
      case "message.updated":
      case "message.deleted":
        // A change to a message older than the loaded pages shows when that page loads.
        if (this.thread.get(event.message.seq)) h.onMessage(event.message);
        h.onOriginalChanged?.(event.message);
        return;
      case "reaction":
        h.onReaction?.(event);
        return;
      case "conversation.updated":
      case "participant.removed":
        h.onConversationChanged?.(event);
        return;
      case "typing":
        h.onTyping(event.userId, event.active);
        return;
      case "read":
        h.onRead(event.userId, event.seq);
        return;
      case "presence":
        h.onPresence(event.userId, event.online);
        return;
      case "error":
        h.onError(event.message, event.code, event.clientId);
        return;
    }
  }
}

/** The `send` frame of a message waiting to be sent (a reply names the message it answers). */
export function sendFrame(p: PendingMessage): ClientFrame {
  const frame: ClientFrame = { type: "send", body: p.body, clientId: p.clientId };
  if (p.replyTo !== undefined) frame.replyTo = p.replyTo;
  if (p.attachments?.length) frame.attachments = p.attachments.map((f) => f.id);
  return frame;
}
