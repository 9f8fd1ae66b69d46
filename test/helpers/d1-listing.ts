import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../../src/db/client";
import { conversations, participants, users } from "../../src/db/schema";
import type { ShardAccess } from "../../src/db/shards";
import { toUser } from "../../src/db/users";
import { encodeCursor } from "../../src/durable/inbox/cursor";
import type { Conversation, ReactionCount, User } from "../../src/protocol/models";
import type { InboxPage } from "../../src/protocol/responses";
import { type QuoteFields, conversationView, messageView } from "../../src/views";

/**
 * The inbox listing as the Worker read it from D1 before it moved into the user's object (the code
 * of src/db/conversations.ts then, unchanged but for the cursor's encoder, now the inbox's, and the
 * fields added since: the latest message's quote and counts, `muted`, a latest message without a
 * sender): the directory's participants and conversations, each history shard's latest messages
 * and read positions. Production no longer reads it; it is the reference the inbox object's listing
 * is checked against (test/inbox/differential.test.ts, test/inbox/listing.test.ts).
 *
 * Its `reads` are always empty: an inbox row has the read positions of the conversation's latest
 * notice to that inbox (a read tells only the reader's inbox; the others' hear it with the next
 * activity), which D1 cannot reproduce. Compare an object's page through `withoutReads`.
 */

const idsParam = (ids: readonly string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/** Whether `a` comes after `b` in activity order (the inbox lists the latest first). */
const after = (a: { updatedAt: string; id: string }, b: { updatedAt: string; id: string }) =>
  a.updatedAt === b.updatedAt ? a.id > b.id : a.updatedAt > b.updatedAt;

/** Per conversation of one shard: its latest message and the user's read position there. */
const LATEST_ON_SHARD = `
SELECT j.value AS conversation_id, m.id, m.seq, m.sender_id, m.body, m.client_id, m.created_at,
       m.edited_at, m.deleted_at, m.reply_quote, m.reactions, r.last_read_seq AS read_seq
FROM json_each(?1) AS j
LEFT JOIN messages AS m ON m.conversation_id = j.value
  AND m.seq = (SELECT max(seq) FROM messages WHERE conversation_id = j.value)
LEFT JOIN read_positions AS r ON r.conversation_id = j.value AND r.user_id = ?2`;

interface LatestRow {
  conversation_id: string;
  id: string | null;
  seq: number | null;
  sender_id: string | null;
  body: string | null;
  client_id: string | null;
  created_at: string | null;
  edited_at: string | null;
  deleted_at: string | null;
  reply_quote: string | null;
  reactions: string | null;
  read_seq: number | null;
}

/**
 * One page of a user's inbox from D1: the user's conversations from the directory, their latest
 * message and read position from each shard holding some of them (one query per shard, in
 * parallel), then the page's participants. The directory is no longer written per message, so the
 * activity order is computed here over all of the user's conversations: a bridge until the
 * listing is served by the user's inbox object (issue 11), which keeps it per user instead.
 */
export async function listInbox(
  db: Db,
  shards: ShardAccess,
  userId: string,
  limit: number,
  cursor: [string, string] | null,
): Promise<InboxPage> {
  const mine = await db
    .select({
      id: conversations.id,
      kind: conversations.kind,
      title: conversations.title,
      createdBy: conversations.createdBy,
      createdAt: conversations.createdAt,
      shard: conversations.shard,
      hiddenAtSeq: participants.hiddenAtSeq,
      lastReadSeq: participants.lastReadSeq,
      muted: participants.muted,
    })
    .from(participants)
    .innerJoin(conversations, eq(conversations.id, participants.conversationId))
    .where(and(eq(participants.userId, userId), isNull(participants.leftAt)));

  const byShard = new Map<string, string[]>();
  for (const c of mine) {
    const shard = c.shard ?? shards.legacy;
    byShard.set(shard, [...(byShard.get(shard) ?? []), c.id]);
  }
  const latest = new Map<string, LatestRow>();
  await Promise.all(
    [...byShard].map(async ([shard, ids]) => {
      const { results } = await shards
        .db(shard)
        .prepare(LATEST_ON_SHARD)
        .bind(JSON.stringify(ids), userId)
        .all<LatestRow>();
      for (const row of results) latest.set(row.conversation_id, row);
    }),
  );

  const listed = mine
    .map((c) => {
      const l = latest.get(c.id);
      const lastSeq = l?.seq ?? 0;
      const lastAt = l?.created_at ?? null;
      return {
        ...c,
        lastSeq,
        updatedAt: lastAt !== null && lastAt > c.createdAt ? lastAt : c.createdAt,
        lastReadSeq: Math.max(c.lastReadSeq, l?.read_seq ?? 0),
        latest: l?.id ? l : null,
      };
    })
    .filter((c) => c.hiddenAtSeq === null || c.lastSeq > c.hiddenAtSeq)
    .filter((c) => !cursor || after({ updatedAt: cursor[0], id: cursor[1] }, c))
    .sort((a, b) => (after(a, b) ? -1 : 1));
  const rows = listed.slice(0, limit);
  if (rows.length === 0) return { conversations: [], nextCursor: null };

  // Everyone who is or was in these conversations: the participants, and any latest message's
  // sender (who may have left since).
  const people = await db
    .select({
      conversationId: participants.conversationId,
      leftAt: participants.leftAt,
      id: users.id,
      firstName: users.firstName,
      lastName: users.lastName,
      avatarUrl: users.avatarUrl,
    })
    .from(participants)
    .innerJoin(users, eq(users.id, participants.userId))
    .where(sql`${participants.conversationId} IN ${idsParam(rows.map((r) => r.id))}`)
    .orderBy(participants.joinedAt, users.id);
  const active = new Map<string, User[]>();
  const everyone = new Map<string, User>();
  for (const p of people) {
    const user = toUser(p);
    everyone.set(user.id, user);
    if (p.leftAt !== null) continue;
    active.set(p.conversationId, [...(active.get(p.conversationId) ?? []), user]);
  }

  const last = rows[rows.length - 1];
  return {
    conversations: rows.map((r) => {
      const l = r.latest;
      const quote = l?.reply_quote ? (JSON.parse(l.reply_quote) as QuoteFields) : null;
      // A latest message without a sender is a system message (server API).
      const message =
        l?.id && l.seq !== null
          ? messageView(
              r.id,
              {
                id: l.id,
                seq: l.seq,
                senderId: l.sender_id,
                body: l.body ?? "",
                clientId: l.client_id,
                createdAt: l.created_at ?? r.createdAt,
                editedAt: l.edited_at,
                deletedAt: l.deleted_at,
                replyTo: quote,
                reactions: l.reactions ? (JSON.parse(l.reactions) as ReactionCount[]) : null,
              },
              l.sender_id === null ? undefined : everyone.get(l.sender_id),
              quote?.senderId ? everyone.get(quote.senderId) : undefined,
            )
          : null;
      return conversationView(r, active.get(r.id) ?? [], message, r.lastReadSeq, [], r.muted);
    }),
    nextCursor: listed.length > limit && last ? encodeCursor(last.updatedAt, last.id) : null,
  };
}

/** An inbox page with its `reads` emptied (and last, as here), to compare with this reference (see above). */
export function withoutReads(page: InboxPage): InboxPage {
  const emptied = page.conversations.map((c) => {
    const copy: Partial<Conversation> = { ...c };
    delete copy.reads;
    return { ...copy, reads: [] } as Conversation;
  });
  return { ...page, conversations: emptied };
}
