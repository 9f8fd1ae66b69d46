import type { MessageFields } from "../views";

/**
 * Writes what a conversation's object has durably stored into D1, the global queryable copy: the
 * conversation's directory row and participants (the room owns membership) and its messages.
 * Every statement is idempotent (upserts, max()), so retrying a batch never duplicates anything,
 * and the batch is one D1 transaction, so the participants never arrive without their conversation.
 *
 * This is the hottest D1 path, so it is plain SQL with the whole batch passed as one JSON
 * parameter: at most five statements per flush whatever the number of rows, and no per-row query
 * building (drizzle's builder was a third of the room's CPU in the benchmark's profile).
 */

export type MirroredMessage = MessageFields;

export interface MirroredRead {
  userId: string;
  lastReadSeq: number;
}

/** The conversation's directory row, written once when the room is created. */
export interface MirroredConversation {
  kind: "direct" | "group";
  title: string | null;
  directKey: string | null;
  createdBy: string;
  createdAt: string;
}

/** A participant as the room has them: D1 takes the room's word for joins, leaves and hides. */
export interface MirroredParticipant {
  userId: string;
  joinedAt: string;
  leftAt: string | null;
  hiddenAtSeq: number | null;
  lastReadSeq: number;
}

export interface MirrorBatch {
  conversation: MirroredConversation | null;
  participants: MirroredParticipant[];
  messages: MirroredMessage[];
  reads: MirroredRead[];
}

const INSERT_CONVERSATION = `
INSERT INTO conversations (id, kind, title, direct_key, created_by, created_at, updated_at, last_seq)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0)
ON CONFLICT (id) DO NOTHING`;

const UPSERT_PARTICIPANTS = `
INSERT INTO participants (conversation_id, user_id, last_read_seq, hidden_at_seq, left_at, joined_at)
SELECT ?1, value ->> 'userId', value ->> 'lastReadSeq', value ->> 'hiddenAtSeq', value ->> 'leftAt',
       value ->> 'joinedAt'
FROM json_each(?2) WHERE true
ON CONFLICT (conversation_id, user_id) DO UPDATE SET
  left_at = excluded.left_at, hidden_at_seq = excluded.hidden_at_seq,
  last_read_seq = max(participants.last_read_seq, excluded.last_read_seq)`;

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
  d1: D1Database,
  conversationId: string,
  batch: MirrorBatch,
): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  const c = batch.conversation;
  if (c) {
    statements.push(
      d1
        .prepare(INSERT_CONVERSATION)
        .bind(conversationId, c.kind, c.title, c.directKey, c.createdBy, c.createdAt),
    );
  }
  if (batch.participants.length > 0) {
    statements.push(d1.prepare(UPSERT_PARTICIPANTS).bind(conversationId, JSON.stringify(batch.participants)));
  }
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
