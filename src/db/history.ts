import { and, asc, desc, eq, gt, isNull, lt } from "drizzle-orm";
import type { ReactionCount } from "../protocol/models";
import type { AttachmentFields, MessageFields, QuoteFields } from "../views";
import type { HistoryDb } from "./client";
import { messages } from "./history-schema";

/**
 * Reads of a conversation's history from its shard: what a room serves for the part of its history
 * older than the tail it keeps (ROOM_LOG_TAIL). Pages are read by (conversation_id, seq), the
 * shard's unique index, and stop at their limit.
 */

const columns = {
  id: messages.id,
  seq: messages.seq,
  senderId: messages.senderId,
  body: messages.body,
  clientId: messages.clientId,
  createdAt: messages.createdAt,
  editedAt: messages.editedAt,
  deletedAt: messages.deletedAt,
  replyQuote: messages.replyQuote,
  reactions: messages.reactions,
  attachments: messages.attachments,
};

type Row = Omit<MessageFields, "replyTo" | "reactions" | "attachments"> & {
  replyQuote: string | null;
  reactions: string | null;
  attachments: string | null;
};

/** A shard row as the room stores messages: the quote, the counts and the files parsed from their JSON. */
function toFields({ replyQuote, reactions, attachments, ...m }: Row): MessageFields {
  return {
    ...m,
    replyTo: replyQuote === null ? null : (JSON.parse(replyQuote) as QuoteFields),
    reactions: reactions === null ? null : (JSON.parse(reactions) as ReactionCount[]),
    attachments: attachments === null ? null : (JSON.parse(attachments) as AttachmentFields[]),
  };
}

/** Messages with after < seq < below, ascending, at most `limit`. */
export async function shardMessagesAfter(
  db: HistoryDb,
  conversationId: string,
  after: number,
  below: number,
  limit: number,
): Promise<MessageFields[]> {
  const rows = await db
    .select(columns)
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), gt(messages.seq, after), lt(messages.seq, below)))
    .orderBy(asc(messages.seq))
    .limit(limit);
  return rows.map(toFields);
}

/** The `limit` messages closest below `before`, returned ascending. */
export async function shardMessagesBefore(
  db: HistoryDb,
  conversationId: string,
  before: number,
  limit: number,
): Promise<MessageFields[]> {
  const rows = await db
    .select(columns)
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), lt(messages.seq, before)))
    .orderBy(desc(messages.seq))
    .limit(limit);
  return rows.reverse().map(toFields);
}

/** One message of the conversation by its id, or null. */
export async function shardMessageById(
  db: HistoryDb,
  conversationId: string,
  id: string,
): Promise<MessageFields | null> {
  const [row] = await db
    .select(columns)
    .from(messages)
    .where(and(eq(messages.id, id), eq(messages.conversationId, conversationId)));
  return row ? toFields(row) : null;
}

/**
 * One sender's messages that are not tombstones yet, with after < seq < below, ascending, at most
 * `limit` (an account's deletion walks a conversation's history with it, a window at a time: the
 * range bounds what one query reads, whoever wrote the rows in it).
 */
export async function shardMessagesBySender(
  db: HistoryDb,
  conversationId: string,
  senderId: string,
  after: number,
  below: number,
  limit: number,
): Promise<MessageFields[]> {
  const rows = await db
    .select(columns)
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        gt(messages.seq, after),
        lt(messages.seq, below),
        eq(messages.senderId, senderId),
        isNull(messages.deletedAt),
      ),
    )
    .orderBy(asc(messages.seq))
    .limit(limit);
  return rows.map(toFields);
}
