import type { Message } from "../../protocol/models";

/**
 * What one conversation view holds: confirmed messages keyed by seq (so a message seen twice, from
 * history, a replay after reconnecting or an ack, is kept once), the own messages still waiting for
 * their ack, and how far the history is complete.
 */

export interface PendingMessage {
  clientId: string;
  body: string;
  createdAt: string;
  /** Why the last attempt failed (the message stays for a retry), or null while sending. */
  error: string | null;
}

export type UpsertResult = "added" | "updated" | "same";

export class ThreadState {
  private readonly bySeq = new Map<number, Message>();
  /** Every seq from the oldest loaded one up to this one is held: the `since` for a reconnect. */
  contiguousSeq = 0;
  oldestSeq = Number.POSITIVE_INFINITY;
  hasMoreBefore = false;
  /** The newest seq the server has announced (ready, or any message). */
  knownLastSeq = 0;
  /** How far each other participant has read, as far as this view has learned (read events, their sends). */
  private readonly readBy = new Map<string, number>();

  /**
   * `myId`: whose messages settle pending sends. `pending`: my unconfirmed sends in this
   * conversation, shared with whatever else delivers them (see PendingSends).
   */
  constructor(
    private readonly myId: string,
    readonly pending: Map<string, PendingMessage> = new Map(),
  ) {}

  /**
   * Whether `message` confirms one of my pending sends: mine, with its clientId. Another person's
   * message with the same clientId (clientIds are only unique per sender) settles nothing.
   */
  settles(message: Message): boolean {
    return message.clientId !== null && message.sender.id === this.myId && this.pending.has(message.clientId);
  }

  get(seq: number): Message | undefined {
    return this.bySeq.get(seq);
  }

  /** The first page (the latest messages): it fixes where the contiguous range starts. */
  loadLatest(messages: Message[], hasMore: boolean): void {
    for (const m of messages) this.upsert(m);
    this.hasMoreBefore = hasMore;
    if (messages.length === 0) this.oldestSeq = Math.min(this.oldestSeq, this.contiguousSeq + 1);
  }

  /** An older page, from scrolling up. */
  loadOlder(messages: Message[], hasMore: boolean): void {
    for (const m of messages) this.upsert(m);
    this.hasMoreBefore = hasMore;
  }

  /**
   * Adds a message or replaces the stored one when it changed (edited, deleted); "same" when it is
   * a repeat. Also settles the pending message it confirms (see `settles`).
   */
  upsert(message: Message): UpsertResult {
    if (message.clientId !== null && this.settles(message)) this.pending.delete(message.clientId);
    this.knownLastSeq = Math.max(this.knownLastSeq, message.seq);
    const existing = this.bySeq.get(message.seq);
    if (existing) {
      if (!isNewer(message, existing)) return "same";
      this.bySeq.set(message.seq, message);
      return "updated";
    }
    this.bySeq.set(message.seq, message);
    if (this.bySeq.size === 1 || message.seq < this.oldestSeq) {
      if (this.bySeq.size === 1 && this.contiguousSeq === 0) this.contiguousSeq = message.seq - 1;
      this.oldestSeq = Math.min(this.oldestSeq, message.seq);
    }
    while (this.bySeq.has(this.contiguousSeq + 1)) this.contiguousSeq++;
    return "added";
  }

  /** Someone has read up to `seq` (a read event, or they sent a message: sending implies reading). */
  noteRead(userId: string, seq: number): void {
    this.readBy.set(userId, Math.max(this.readBy.get(userId) ?? 0, seq));
  }

  /** The newest message `userId` sent, and which of `others` have read up to it. */
  readReceipt<U extends { id: string }>(
    userId: string,
    others: U[],
  ): { message: Message; seenBy: U[] } | null {
    let mine: Message | undefined;
    for (const m of this.bySeq.values()) if (m.sender.id === userId && (!mine || m.seq > mine.seq)) mine = m;
    if (!mine) return null;
    const seq = mine.seq;
    return {
      message: mine,
      seenBy: others.filter((p) => p.id !== userId && (this.readBy.get(p.id) ?? 0) >= seq),
    };
  }

  /** Whether messages are known to exist past what is held without a gap (fetch them over REST). */
  get hasGap(): boolean {
    return this.knownLastSeq > this.contiguousSeq;
  }
}

/** Edits and deletions only move forward; a replayed copy of an old state never wins. */
function isNewer(incoming: Message, existing: Message): boolean {
  if (existing.deletedAt) return false;
  if (incoming.deletedAt) return true;
  return (incoming.editedAt ?? "") > (existing.editedAt ?? "");
}
