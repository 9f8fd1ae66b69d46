import type { PendingMessage } from "./thread";

/**
 * My messages not yet confirmed, per conversation, for the whole signed-in session. A
 * conversation's view and its background delivery (Courier) share one map, so a message still
 * sending survives switching to another conversation and back: it stays until its ack (or the
 * replayed message) confirms it, the room refuses it, or I discard it.
 */
export class PendingSends {
  private readonly byConversation = new Map<string, Map<string, PendingMessage>>();

  /** The conversation's pending messages, keyed by clientId (the same map on every call). */
  of(conversationId: string): Map<string, PendingMessage> {
    let pending = this.byConversation.get(conversationId);
    if (!pending) {
      pending = new Map();
      this.byConversation.set(conversationId, pending);
    }
    return pending;
  }

  /** Whether the conversation has messages still to deliver (not refused). */
  hasUnsent(conversationId: string): boolean {
    for (const p of this.byConversation.get(conversationId)?.values() ?? []) if (!p.error) return true;
    return false;
  }

  /** The conversation is gone: what was still sending fails with `reason`, kept for the record. */
  failAll(conversationId: string, reason: string): void {
    for (const p of this.byConversation.get(conversationId)?.values() ?? []) p.error ??= reason;
  }
}
