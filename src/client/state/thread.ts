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
  readonly pending = new Map<string, PendingMessage>();
  /** Every seq from the oldest loaded one up to this one is held: the `since` for a reconnect. */
  contiguousSeq = 0;
  oldestSeq = Number.POSITIVE_INFINITY;
  hasMoreBefore = false;
  /** The newest seq the server has announced (ready, or any message). */
  knownLastSeq = 0;

  get size(): number {
    return this.bySeq.size;
  }

  get(seq: number): Message | undefined {
    return this.bySeq.get(seq);
  }

  findById(id: string): Message | undefined {
    for (const m of this.bySeq.values()) if (m.id === id) return m;
    return undefined;
  }

  /** Seqs in ascending order. */
  seqs(): number[] {
    return [...this.bySeq.keys()].sort((a, b) => a - b);
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
   * a repeat. Also settles the pending message it confirms, if its clientId matches.
   */
  upsert(message: Message): UpsertResult {
    if (message.clientId) this.pending.delete(message.clientId);
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

  /** Whether messages are known to exist past what is held without a gap (fetch them over REST). */
  get hasGap(): boolean {
    return this.knownLastSeq > this.contiguousSeq;
  }

  /** The newest confirmed message. */
  last(): Message | undefined {
    let last: Message | undefined;
    for (const m of this.bySeq.values()) if (!last || m.seq > last.seq) last = m;
    return last;
  }
}

/** Edits and deletions only move forward; a replayed copy of an old state never wins. */
function isNewer(incoming: Message, existing: Message): boolean {
  if (existing.deletedAt) return false;
  if (incoming.deletedAt) return true;
  return (incoming.editedAt ?? "") > (existing.editedAt ?? "");
}
