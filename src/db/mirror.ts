import type { MessageFields } from "../views";
import type { Db } from "./client";

/**
 * Writes what a conversation's object has durably stored into D1, the global queryable copy.
 * Every statement is idempotent (upserts, max()), so retrying a batch never duplicates anything.
 *
 * This is the hottest D1 path, so it is plain SQL with the whole batch passed as one JSON
 * parameter: three statements per flush whatever the number of messages, and no per-row query
 * building (drizzle's builder was a third of the room's CPU in the benchmark's profile).
 */

export type MirroredMessage = MessageFields;

export interface MirroredRead {
  userId: string;
  lastReadSeq: number;
}

const UPSERT_MESSAGES = `
INSERT INTO messages (id, conversation_id, seq, sender_id, body, client_id, created_at, edited_at, deleted_at)
SELECT value ->> 'id', ?1, value ->> 'seq', value ->> 'senderId', value ->> 'body', value ->> 'clientId',
       value ->> 'createdAt', value ->> 'editedAt', value ->> 'deletedAt'
FROM json_each(?2) WHERE true
ON CONFLICT (conversation_id, seq) DO UPDATE SET
  body = excluded.body, edited_at = excluded.edited_at, deleted_at = excluded.deleted_at`;

const ADVANCE_CONVERSATION = `
UPDATE conversations SET last_seq = max(last_seq, ?2), updated_at = max(updated_at, ?3) WHERE id = ?1`;

const ADVANCE_READS = `
UPDATE participants SET last_read_seq = max(last_read_seq, r.value ->> 'lastReadSeq')
FROM json_each(?2) AS r
WHERE participants.conversation_id = ?1 AND participants.user_id = r.value ->> 'userId'`;

export async function mirrorConversation(
  db: Db,
  conversationId: string,
  batch: { messages: MirroredMessage[]; reads: MirroredRead[] },
): Promise<void> {
  const d1 = db.$client;
  const statements: D1PreparedStatement[] = [];
  if (batch.messages.length > 0) {
    const rows = batch.messages.map(
      ({ id, seq, senderId, body, clientId, createdAt, editedAt, deletedAt }) => ({
        id,
        seq,
        senderId,
        body,
        clientId,
        createdAt,
        editedAt,
        deletedAt,
      }),
    );
    let last = batch.messages[0];
    for (const m of batch.messages) if (last && m.seq > last.seq) last = m;
    statements.push(d1.prepare(UPSERT_MESSAGES).bind(conversationId, JSON.stringify(rows)));
    if (last)
      statements.push(d1.prepare(ADVANCE_CONVERSATION).bind(conversationId, last.seq, last.createdAt));
  }
  if (batch.reads.length > 0) {
    statements.push(d1.prepare(ADVANCE_READS).bind(conversationId, JSON.stringify(batch.reads)));
  }
  if (statements.length > 0) await d1.batch(statements);
}
