import type { Api } from "../api";
import type { PendingSends } from "./pending";
import { RoomLink } from "./room-link";
import type { ThreadState } from "./thread";

const ignore = (): void => undefined;

/**
 * Delivers the messages of conversations nobody is looking at any more: when a view closes with
 * messages still sending (the socket was down, or the ack had not come), its room link lives on
 * here until each is confirmed or refused, then closes. It resends after every `ready` under the
 * same clientId (the room answers a repeat with the ack of the stored message), and it reads
 * nothing else: no replay, no read receipts, no typing. Opening the conversation again takes over.
 */
export class Courier {
  private readonly links = new Map<string, RoomLink>();

  constructor(
    private readonly api: Api,
    private readonly pending: PendingSends,
  ) {}

  /** Keeps delivering `thread`'s unsent messages (the thread of a view that just closed). */
  carry(conversationId: string, thread: ThreadState): void {
    if (this.links.has(conversationId) || !this.pending.hasUnsent(conversationId)) return;
    const settled = () => {
      if (!this.pending.hasUnsent(conversationId)) this.release(conversationId);
    };
    const link = new RoomLink(
      this.api,
      conversationId,
      thread,
      {
        onMessage: (message) => {
          thread.upsert(message);
          settled();
        },
        onError: (message, code, clientId) => {
          const refused = clientId === undefined ? undefined : thread.pending.get(clientId);
          if (!refused) return;
          refused.error = code === "rate_limited" ? "sending too fast" : message;
          settled();
        },
        onGone: (notice) => {
          this.pending.failAll(conversationId, notice);
          this.release(conversationId);
        },
        onReady: ignore,
        onTyping: ignore,
        onRead: ignore,
        onPresence: ignore,
        onState: ignore,
      },
      { catchUp: false },
    );
    this.links.set(conversationId, link);
    link.start();
  }

  /** Stops delivering in the background (the conversation's view is open again, or I signed out). */
  release(conversationId: string): void {
    this.links.get(conversationId)?.stop();
    this.links.delete(conversationId);
  }

  /** The token was renewed: every link moves to a socket opened with it. */
  rolloverAll(): void {
    for (const link of this.links.values()) link.rollover();
  }

  releaseAll(): void {
    for (const id of this.links.keys()) this.release(id);
  }
}
