import { ApiError, notFound } from "../../errors";
import { nowIso } from "../../ids";
import type { RoomEvent } from "../../protocol/frames";
import type { Message, ReactionCount } from "../../protocol/models";
import type { SocketSet } from "../sockets";
import type { InboxNotifier } from "./inbox-notifier";
import type { RoomState } from "./state";
import type { RoomStorage } from "./storage";
import type { RateWindow } from "./throttles";

/**
 * Reactions to the room's messages: one row per person and emoji (extra-rows.ts) and the counts
 * on the message row, changed together in one transaction; every socket of the room hears each
 * change, and the inboxes when it is on the last message. Nothing here runs when a message is
 * sent: a new message simply has no counts.
 */
export class Reactions {
  constructor(
    private readonly store: RoomStorage,
    private readonly state: Pick<RoomState, "inboxShowsMessage">,
    private readonly sockets: Pick<SocketSet, "broadcast">,
    private readonly notifier: Pick<InboxNotifier, "queue">,
    private readonly rate: RateWindow,
    /** MAX_REACTIONS_PER_MESSAGE: distinct emoji per message. */
    private readonly maxPerMessage: number,
  ) {}

  /**
   * Adds (`active`) or takes back `userId`'s `emoji` on a message and tells the sockets; false when
   * it was so already (idempotent: nothing stored, nothing told, nothing counted against the rate).
   */
  apply(userId: string, messageId: string, emoji: string, active: boolean): boolean {
    const message = this.store.messageById(messageId);
    if (!message) throw notFound("Message not found");
    if (message.deletedAt) {
      throw new ApiError("validation_failed", "A deleted message cannot get reactions", {
        details: [{ path: "messageId", message: "the message was deleted" }],
      });
    }
    const rows = this.store.extras;
    if (rows.hasReaction(message.seq, emoji, userId) === active) return false;
    const counts = message.reactions ?? [];
    const at = counts.findIndex((c) => c.emoji === emoji);
    if (active && at === -1 && counts.length >= this.maxPerMessage) {
      throw new ApiError(
        "validation_failed",
        `A message has at most ${this.maxPerMessage} different reactions`,
        { details: [{ path: "emoji", message: "too many different reactions on this message" }] },
      );
    }
    this.rate.take(userId); // a reaction fans out and reaches D1 like a send: same budget
    const next = recount(counts, at, emoji, active ? 1 : -1);
    this.store.transaction(() => {
      rows.setReaction(message.seq, emoji, userId, active, nowIso());
      rows.setCounts(message.seq, next);
    });
    const event: RoomEvent = {
      type: "reaction",
      messageId: message.id,
      seq: message.seq,
      emoji,
      userId,
      active,
      count: next.find((c) => c.emoji === emoji)?.count ?? 0,
    };
    this.sockets.broadcast(JSON.stringify(event));
    // The inboxes show the last message with its counts.
    if (this.state.inboxShowsMessage(message.id)) this.notifier.queue("all");
    return true;
  }

  /** REST's messages carry the caller's own reactions (`myReactions`); socket events do not. */
  withMine(userId: string, messages: readonly Message[]): Message[] {
    let from = Number.POSITIVE_INFINITY;
    let to = 0;
    for (const m of messages) {
      if (m.reactions.length === 0) continue;
      from = Math.min(from, m.seq);
      to = Math.max(to, m.seq);
    }
    // A page without reactions (most of them) costs no query.
    const mine = to === 0 ? new Map<number, string[]>() : this.store.extras.myReactions(userId, from, to);
    return messages.map((m) => ({ ...m, myReactions: mine.get(m.seq) ?? [] }));
  }
}

/** The counts with one emoji's count moved by `delta`: a new emoji goes last, a zero count goes. */
function recount(
  counts: readonly ReactionCount[],
  at: number,
  emoji: string,
  delta: 1 | -1,
): ReactionCount[] {
  if (at === -1) return delta === 1 ? [...counts, { emoji, count: 1 }] : [...counts];
  const next: ReactionCount[] = [];
  for (const [i, c] of counts.entries()) {
    const count = i === at ? c.count + delta : c.count;
    if (count > 0) next.push({ emoji: c.emoji, count });
  }
  return next;
}
