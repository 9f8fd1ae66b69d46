import type { ReactionCount } from "../protocol/models";
import type { AttachmentFields, MessageFields, QuoteFields } from "../views";

/**
 * The full-text query of one history shard (README, "Search"): the FTS5 index `message_search`
 * (migrations/history/0002_message_search.sql) joined to the message rows it points at.
 *
 * Results come in the index's rowid order, newest first: the order rows reached the shard, which
 * is the order they were sent except for a conversation whose copy was held up (D1 down for it).
 * That order lets FTS5 stop at the page's end instead of collecting every match and sorting them
 * by time (a common word matches a good part of a shard: sorting those took 200–500 ms on 200,000
 * messages, the page in rowid order under 10 ms). CROSS JOIN keeps the index as the outer loop.
 */

export interface ShardHit extends MessageFields {
  conversationId: string;
  /** The row's place in its shard: results' order, and the cursor. */
  rowid: number;
  /** The body around the matches, each between SNIPPET_OPEN and SNIPPET_CLOSE. */
  snippet: string;
  /** The emoji the caller reacted with (REST messages carry them as `myReactions`). */
  myReactions: string[];
}

/** Marks snippet() puts around matches: control characters, which no stored body contains. */
export const SNIPPET_OPEN = "\u0002";
export const SNIPPET_CLOSE = "\u0003";
/** Tokens of context a snippet shows around the matches (FTS5 allows up to 64). */
const SNIPPET_TOKENS = 16;

const SEARCH = `
SELECT message_search.rowid AS rid, m.id, m.conversation_id, m.seq, m.sender_id, m.body, m.client_id,
       m.created_at, m.edited_at, m.deleted_at, m.reply_quote, m.reactions, m.attachments,
       CASE WHEN m.reactions IS NULL THEN NULL ELSE (
         SELECT json_group_array(emoji) FROM (
           SELECT emoji FROM reactions AS r
           WHERE r.conversation_id = m.conversation_id AND r.seq = m.seq AND r.user_id = ?5
           ORDER BY r.created_at)
       ) END AS my_reactions,
       snippet(message_search, 0, char(2), char(3), '…', ${SNIPPET_TOKENS}) AS snippet
FROM message_search CROSS JOIN messages AS m ON m.rowid = message_search.rowid
WHERE message_search MATCH ?1 AND message_search.rowid < ?2
  AND m.conversation_id IN (SELECT value FROM json_each(?3)) AND m.deleted_at IS NULL
ORDER BY message_search.rowid DESC
LIMIT ?4`;

interface Row {
  rid: number;
  id: string;
  conversation_id: string;
  seq: number;
  /** null: a system message (server API), which has no sender. */
  sender_id: string | null;
  body: string;
  client_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  reply_quote: string | null;
  reactions: string | null;
  attachments: string | null;
  my_reactions: string | null;
  snippet: string;
}

/**
 * At most `limit` matches of `match` (an FTS5 query, src/search/fts-query.ts) in these
 * conversations, with rowid below `below`, newest first, as `userId` sees them. The conversation
 * ids travel as one JSON parameter: any number of them binds one parameter (D1 allows 100 per
 * statement). Replies' quotes, reaction counts and files come as the room copied them with the row (see
 * db/history.ts); the caller's own reactions from the shard's `reactions` rows, only for messages
 * that have reactions at all.
 */
export async function searchShard(
  db: D1Database,
  match: string,
  conversationIds: readonly string[],
  below: number,
  limit: number,
  userId: string,
): Promise<ShardHit[]> {
  const { results } = await db
    .prepare(SEARCH)
    .bind(match, below, JSON.stringify(conversationIds), limit, userId)
    .all<Row>();
  return results.map((r) => ({
    rowid: r.rid,
    conversationId: r.conversation_id,
    id: r.id,
    seq: r.seq,
    senderId: r.sender_id,
    body: r.body,
    clientId: r.client_id,
    createdAt: r.created_at,
    editedAt: r.edited_at,
    deletedAt: r.deleted_at,
    replyTo: r.reply_quote === null ? null : (JSON.parse(r.reply_quote) as QuoteFields),
    reactions: r.reactions === null ? null : (JSON.parse(r.reactions) as ReactionCount[]),
    attachments: r.attachments === null ? null : (JSON.parse(r.attachments) as AttachmentFields[]),
    myReactions: r.my_reactions === null ? [] : (JSON.parse(r.my_reactions) as string[]),
    snippet: r.snippet,
  }));
}
