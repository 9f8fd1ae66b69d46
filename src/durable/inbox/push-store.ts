import type { PushPayload } from "../../protocol/push";
import type { StoredSubscription } from "../../push/send";

/**
 * One user's Web Push state in their inbox object's SQLite: the subscriptions (one per browser or
 * device), when each conversation last pushed, and the pushes waiting for the object's alarm.
 */
export class PushStore {
  /** The tables are created by the inbox's migrations (schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  subscriptionCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM push_subscriptions").one().n;
  }

  subscriptions(): StoredSubscription[] {
    return this.sql
      .exec<{ endpoint: string; p256dh: string; auth: string }>(
        "SELECT endpoint, p256dh, auth FROM push_subscriptions ORDER BY created_at, endpoint",
      )
      .toArray()
      .map((row) => ({ ...row }));
  }

  /** Adds or renews one; beyond `max` the oldest go (a browser that vanished never unsubscribes). */
  saveSubscription(sub: StoredSubscription, now: number, max: number): void {
    const db = this.sql;
    db.exec(
      `INSERT INTO push_subscriptions (endpoint, p256dh, auth, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
         created_at = excluded.created_at`,
      sub.endpoint,
      sub.p256dh,
      sub.auth,
      now,
    );
    db.exec(
      `DELETE FROM push_subscriptions WHERE endpoint NOT IN
         (SELECT endpoint FROM push_subscriptions ORDER BY created_at DESC, endpoint DESC LIMIT ?)`,
      max,
    );
  }

  removeSubscription(endpoint: string): void {
    this.sql.exec("DELETE FROM push_subscriptions WHERE endpoint = ?", endpoint);
  }

  conversation(conversationId: string): { lastSeq: number; lastPushAt: number | null } | null {
    const row = this.sql
      .exec<{ last_seq: number; last_push_at: number | null }>(
        "SELECT last_seq, last_push_at FROM push_conversations WHERE conversation_id = ?",
        conversationId,
      )
      .toArray()[0];
    return row ? { lastSeq: row.last_seq, lastPushAt: row.last_push_at } : null;
  }

  saveConversation(conversationId: string, lastSeq: number, lastPushAt: number | null): void {
    this.sql.exec(
      `INSERT INTO push_conversations (conversation_id, last_seq, last_push_at) VALUES (?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET last_seq = excluded.last_seq,
         last_push_at = excluded.last_push_at`,
      conversationId,
      lastSeq,
      lastPushAt,
    );
  }

  forgetConversation(conversationId: string): void {
    const db = this.sql;
    db.exec("DELETE FROM push_conversations WHERE conversation_id = ?", conversationId);
    db.exec("DELETE FROM push_queue WHERE conversation_id = ?", conversationId);
  }

  /** Queues the push for message `seq` of its conversation. */
  enqueue(payload: PushPayload, seq: number, now: number): void {
    this.sql.exec(
      `INSERT INTO push_queue (conversation_id, seq, payload, queued_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET seq = excluded.seq, payload = excluded.payload,
         queued_at = excluded.queued_at`,
      payload.conversationId,
      seq,
      JSON.stringify(payload),
      now,
    );
  }

  /** The oldest waiting pushes, at most `limit`. */
  queued(limit: number): { seq: number; payload: PushPayload }[] {
    return this.sql
      .exec<{ seq: number; payload: string }>(
        "SELECT seq, payload FROM push_queue ORDER BY queued_at, conversation_id LIMIT ?",
        limit,
      )
      .toArray()
      .map((row) => ({ seq: row.seq, payload: JSON.parse(row.payload) as PushPayload }));
  }

  /** Removes a sent push, unless a newer message of its conversation replaced it meanwhile. */
  dequeue(conversationId: string, seq: number): void {
    this.sql.exec("DELETE FROM push_queue WHERE conversation_id = ? AND seq = ?", conversationId, seq);
  }

  queueLength(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM push_queue").one().n;
  }

  clearQueue(): void {
    this.sql.exec("DELETE FROM push_queue");
  }

  /** Every subscription and everything pushed or waiting (the user deleted their account). */
  clearAll(): void {
    this.sql.exec("DELETE FROM push_subscriptions; DELETE FROM push_conversations; DELETE FROM push_queue");
  }
}
