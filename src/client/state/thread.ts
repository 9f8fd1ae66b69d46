import type { RoomEvent } from "../../protocol/frames";
import type { Attachment, Message, ReactionCount } from "../../protocol/models";
import { quoteBody } from "../../protocol/text";

/**
 * What one conversation view holds: confirmed messages keyed by seq (so a message seen twice, from
 * history, a replay after reconnecting or an ack, is kept once), the own messages still waiting for
 * their ack, and how far the history is complete.
 */

export interface PendingMessage {
  clientId: string;
  body: string;
  /** The id of the message this one answers, if any. */
  replyTo?: string | undefined;
  /** The uploaded files it carries. */
  attachments?: Attachment[] | undefined;
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
  /** My own reactions by seq: REST pages carry them, `reaction` events about me change them. */
  private readonly mine = new Map<number, Set<string>>();

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
    return (
      message.clientId !== null && message.sender?.id === this.myId && this.pending.has(message.clientId)
    );
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
    if (message.myReactions) this.mine.set(message.seq, new Set(message.myReactions));
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

  /** The emoji I reacted with on message `seq`. */
  myReactions(seq: number): ReadonlySet<string> {
    return this.mine.get(seq) ?? NONE;
  }

  /**
   * A `reaction` event: the message held with its new count (the event's count is the truth), or
   * undefined when the message is not loaded (its page brings the counts when it loads).
   */
  applyReaction(event: Extract<RoomEvent, { type: "reaction" }>): Message | undefined {
    const held = this.bySeq.get(event.seq);
    if (!held || held.id !== event.messageId) return undefined;
    if (event.userId === this.myId) {
      const set = new Set(this.mine.get(event.seq));
      if (event.active) set.add(event.emoji);
      else set.delete(event.emoji);
      this.mine.set(event.seq, set);
    }
    const next = { ...held, reactions: withCount(held.reactions, event.emoji, event.count) };
    this.bySeq.set(event.seq, next);
    return next;
  }

  /**
   * The original of some replies changed (edited or deleted): their quotes are rewritten as the
   * room rewrote its stored ones. Returns the replies held that changed.
   */
  requote(original: Message): Message[] {
    const changed: Message[] = [];
    for (const m of this.bySeq.values()) {
      if (m.replyTo?.id !== original.id) continue;
      const body = original.deletedAt ? "" : quoteBody(original.body);
      const next = { ...m, replyTo: { ...m.replyTo, body, deletedAt: original.deletedAt } };
      this.bySeq.set(m.seq, next);
      changed.push(next);
    }
    return changed;
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
    for (const m of this.bySeq.values()) if (m.sender?.id === userId && (!mine || m.seq > mine.seq)) mine = m;
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

const NONE: ReadonlySet<string> = new Set();

/** The counts with one emoji's set to `count`: a new emoji goes last, a zero count goes. */
function withCount(counts: readonly ReactionCount[], emoji: string, count: number): ReactionCount[] {
  const next = counts
    .filter((c) => c.emoji !== emoji || count > 0)
    .map((c) => (c.emoji === emoji ? { emoji, count } : c));
  if (count > 0 && !counts.some((c) => c.emoji === emoji)) next.push({ emoji, count });
  return next;
}

/** Edits and deletions only move forward; a replayed copy of an old state never wins. */
function isNewer(incoming: Message, existing: Message): boolean {
  if (existing.deletedAt) return false;
  if (incoming.deletedAt) return true;
  return (incoming.editedAt ?? "") > (existing.editedAt ?? "");
}
