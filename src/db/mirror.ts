import type { Metrics } from "../observability/metrics";
import { utf8Length } from "../utf8";
import type { MessageFields } from "../views";

/**
 * Writes what a conversation's object has durably stored into D1, the global queryable copy, in
 * two kinds of batch: membership (the conversation's row and its participants) to the directory,
 * rarely; history (messages and read positions) to the conversation's shard, at most once per
 * flush interval. Every statement is idempotent (upserts, max()), so retrying a batch never
 * duplicates anything, and each batch is one D1 transaction.
 *
 * This is the hottest D1 path, so it is plain SQL with the rows passed as one JSON parameter per
 * statement: at most four statements per batch whatever the number of rows, and no per-row query
 * building (drizzle's builder was a third of the room's CPU in the benchmark's profile).
 */

export type MirroredMessage = MessageFields;

export interface MirroredRead {
  userId: string;
  lastReadSeq: number;
}

/** The conversation's directory row, written when the room is created (and its shard recorded). */
export interface MirroredConversation {
  kind: "direct" | "group";
  title: string | null;
  directKey: string | null;
  createdBy: string;
  createdAt: string;
  shard: string;
}

/** A participant as the room has them: D1 takes the room's word for joins, leaves and hides. */
export interface MirroredParticipant {
  userId: string;
  joinedAt: string;
  leftAt: string | null;
  hiddenAtSeq: number | null;
  lastReadSeq: number;
  muted: boolean;
}

/** One person's reaction with one emoji to one message: present (`active`) or taken back. */
export interface MirroredReaction {
  seq: number;
  emoji: string;
  userId: string;
  createdAt: string;
  active: boolean;
}

export interface MembershipBatch {
  conversation: MirroredConversation | null;
  participants: MirroredParticipant[];
}

/**
 * A history batch as it is bound: each statement's rows already serialized, so its size is known
 * exactly before it is sent (HistoryBatchBuilder keeps it under the cap).
 */
export interface HistoryBatch {
  /** JSON array of MirroredMessage, or null when the batch has no message rows. */
  messagesJson: string | null;
  /** JSON array of MirroredRead, or null. */
  readsJson: string | null;
  /** JSON array of MirroredReaction, or null. */
  reactionsJson: string | null;
  messageCount: number;
  readCount: number;
  reactionCount: number;
  /** UTF-8 bytes of both parameters: what the batch costs against D1's limits. */
  bytes: number;
  /** When its oldest message row last changed (created, edited or deleted), ms; null without one. */
  oldestChangeMs: number | null;
}

const jsonBytes = (json: string | null): number => (json === null ? 0 : utf8Length(json));

/** The brackets of the JSON arrays (each row counts its own comma). */
const BRACKETS = 6;

/** Rows already serialized as JSON, as one JSON array (null for none). */
const jsonArray = (rows: string[]): string | null => (rows.length > 0 ? `[${rows.join(",")}]` : null);

/**
 * Collects a history batch under a byte cap and a row cap. A row that alone is over the byte cap
 * still goes, alone (progress over the cap: the cap stays well under D1's 2 MB per string, and a
 * message is at most a few tens of kB).
 */
export class HistoryBatchBuilder {
  private readonly messages: string[] = [];
  private readonly reads: string[] = [];
  private readonly reactions: string[] = [];
  private bytes = 0;
  private oldestChangeMs: number | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly maxRows: number,
  ) {}

  get rows(): number {
    return this.messages.length + this.reads.length + this.reactions.length;
  }

  /** Adds the row if it fits; false (and nothing added) when the batch is full. */
  addMessage(m: MirroredMessage): boolean {
    const json = JSON.stringify({
      id: m.id,
      seq: m.seq,
      senderId: m.senderId,
      body: m.body,
      clientId: m.clientId,
      createdAt: m.createdAt,
      editedAt: m.editedAt,
      deletedAt: m.deletedAt,
      replyTo: m.replyTo ?? null,
      reactions: m.reactions && m.reactions.length > 0 ? m.reactions : null,
      attachments: m.attachments && m.attachments.length > 0 ? m.attachments : null,
    });
    if (!this.add(this.messages, json)) return false;
    const changed = Date.parse(m.deletedAt ?? m.editedAt ?? m.createdAt);
    if (this.oldestChangeMs === null || changed < this.oldestChangeMs) this.oldestChangeMs = changed;
    return true;
  }

  addRead(r: MirroredRead): boolean {
    return this.add(this.reads, JSON.stringify({ userId: r.userId, lastReadSeq: r.lastReadSeq }));
  }

  addReaction(r: MirroredReaction): boolean {
    const { seq, emoji, userId, createdAt, active } = r;
    return this.add(this.reactions, JSON.stringify({ seq, emoji, userId, createdAt, active }));
  }

  private add(into: string[], json: string): boolean {
    const size = utf8Length(json) + 1;
    const full = this.rows >= this.maxRows || this.bytes + size + BRACKETS > this.maxBytes;
    if (full && this.rows > 0) return false;
    into.push(json);
    this.bytes += size;
    return true;
  }

  /** The batch, or null when nothing was added. */
  build(): HistoryBatch | null {
    if (this.rows === 0) return null;
    const messagesJson = jsonArray(this.messages);
    const readsJson = jsonArray(this.reads);
    const reactionsJson = jsonArray(this.reactions);
    return {
      messagesJson,
      readsJson,
      reactionsJson,
      messageCount: this.messages.length,
      readCount: this.reads.length,
      reactionCount: this.reactions.length,
      bytes: jsonBytes(messagesJson) + jsonBytes(readsJson) + jsonBytes(reactionsJson),
      oldestChangeMs: this.oldestChangeMs,
    };
  }
}

const UPSERT_CONVERSATION = `
INSERT INTO conversations (id, kind, title, direct_key, created_by, created_at, updated_at, last_seq, shard)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, ?7)
ON CONFLICT (id) DO UPDATE SET shard = coalesce(conversations.shard, excluded.shard), title = excluded.title`;

const UPSERT_PARTICIPANTS = `
INSERT INTO participants (conversation_id, user_id, last_read_seq, hidden_at_seq, left_at, joined_at, muted)
SELECT ?1, value ->> 'userId', value ->> 'lastReadSeq', value ->> 'hiddenAtSeq', value ->> 'leftAt',
       value ->> 'joinedAt', value ->> 'muted'
FROM json_each(?2) WHERE true
ON CONFLICT (conversation_id, user_id) DO UPDATE SET
  left_at = excluded.left_at, hidden_at_seq = excluded.hidden_at_seq, muted = excluded.muted,
  last_read_seq = max(participants.last_read_seq, excluded.last_read_seq)`;

const UPSERT_MESSAGES = `
INSERT INTO messages (id, conversation_id, seq, sender_id, body, client_id, created_at, edited_at, deleted_at,
  reply_to_id, reply_quote, reactions, attachments)
SELECT value ->> 'id', ?1, value ->> 'seq', value ->> 'senderId', value ->> 'body', value ->> 'clientId',
       value ->> 'createdAt', value ->> 'editedAt', value ->> 'deletedAt', value ->> '$.replyTo.id',
       value ->> 'replyTo', value ->> 'reactions', value ->> 'attachments'
FROM json_each(?2) WHERE true
ON CONFLICT (conversation_id, seq) DO UPDATE SET
  body = excluded.body, edited_at = excluded.edited_at, deleted_at = excluded.deleted_at,
  reply_quote = excluded.reply_quote, reactions = excluded.reactions, attachments = excluded.attachments`;

const INSERT_REACTIONS = `
INSERT INTO reactions (conversation_id, seq, emoji, user_id, created_at)
SELECT ?1, value ->> 'seq', value ->> 'emoji', value ->> 'userId', value ->> 'createdAt'
FROM json_each(?2) WHERE value ->> 'active' = 1
ON CONFLICT DO NOTHING`;

const DELETE_REACTIONS = `
DELETE FROM reactions WHERE conversation_id = ?1 AND (seq, emoji, user_id) IN (
  SELECT value ->> 'seq', value ->> 'emoji', value ->> 'userId' FROM json_each(?2) WHERE value ->> 'active' = 0)`;

const UPSERT_READS = `
INSERT INTO read_positions (conversation_id, user_id, last_read_seq)
SELECT ?1, value ->> 'userId', value ->> 'lastReadSeq' FROM json_each(?2) WHERE true
ON CONFLICT (conversation_id, user_id) DO UPDATE SET
  last_read_seq = max(read_positions.last_read_seq, excluded.last_read_seq)`;

/** Copies membership to the directory: the conversation's row first, so participants never precede it. */
export async function mirrorMembership(
  directory: D1Database,
  conversationId: string,
  batch: MembershipBatch,
  metrics: Metrics,
): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  const c = batch.conversation;
  if (c) {
    statements.push(
      directory
        .prepare(UPSERT_CONVERSATION)
        .bind(conversationId, c.kind, c.title, c.directKey, c.createdBy, c.createdAt, c.shard),
    );
  }
  if (batch.participants.length > 0) {
    statements.push(
      directory.prepare(UPSERT_PARTICIPANTS).bind(conversationId, JSON.stringify(batch.participants)),
    );
  }
  if (statements.length === 0) return;
  metrics.d1Batch("directory", conversationId, statements.length, await directory.batch(statements));
}

/** Copies messages, read positions and reactions to the conversation's shard, in one batch. */
export async function mirrorHistory(
  shard: D1Database,
  conversationId: string,
  batch: HistoryBatch,
  metrics: Metrics,
): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  if (batch.messagesJson !== null) {
    statements.push(shard.prepare(UPSERT_MESSAGES).bind(conversationId, batch.messagesJson));
  }
  if (batch.readsJson !== null) {
    statements.push(shard.prepare(UPSERT_READS).bind(conversationId, batch.readsJson));
  }
  if (batch.reactionsJson !== null) {
    statements.push(shard.prepare(INSERT_REACTIONS).bind(conversationId, batch.reactionsJson));
    statements.push(shard.prepare(DELETE_REACTIONS).bind(conversationId, batch.reactionsJson));
  }
  if (statements.length === 0) return;
  metrics.d1Batch("history", conversationId, statements.length, await shard.batch(statements));
  if (batch.oldestChangeMs !== null) {
    const rows = batch.messageCount + batch.readCount + batch.reactionCount;
    metrics.outboxLag(conversationId, Math.max(0, Date.now() - batch.oldestChangeMs), rows);
  }
}
