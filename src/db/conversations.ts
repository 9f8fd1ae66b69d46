import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { User } from "../protocol/models";
import type { InboxPage } from "../protocol/responses";
import { conversationView, messageView } from "../views";
import type { Db } from "./client";
import { toUser } from "./users";
import { conversations, messages, participants, users } from "./schema";

/** The one direct conversation of a pair has this key; the unique index makes it race-proof. */
export const directKeyOf = (a: string, b: string): string => (a < b ? `${a}:${b}` : `${b}:${a}`);

const idsParam = (ids: readonly string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/**
 * Creates the direct conversation of two users, or finds the one that exists. Two simultaneous
 * first requests both insert with ON CONFLICT DO NOTHING; the unique key lets exactly one win and
 * both read the winner back.
 */
export async function findOrCreateDirect(
  db: Db,
  userId: string,
  otherId: string,
  newIdValue: string,
  now: string,
): Promise<{ id: string; created: boolean }> {
  const directKey = directKeyOf(userId, otherId);
  const [, found] = await db.batch([
    db
      .insert(conversations)
      .values({
        id: newIdValue,
        kind: "direct",
        title: null,
        directKey,
        createdBy: userId,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing(),
    db.select({ id: conversations.id }).from(conversations).where(eq(conversations.directKey, directKey)),
  ]);
  const id = found[0]?.id;
  if (!id) throw new Error("direct conversation vanished after insert");
  if (id === newIdValue) {
    await db
      .insert(participants)
      .values([userId, otherId].map((u) => ({ conversationId: id, userId: u, joinedAt: now })))
      .onConflictDoNothing();
  }
  return { id, created: id === newIdValue };
}

/** The conversation and all its participants in one batch (one transaction in D1). */
export async function createGroup(
  db: Db,
  id: string,
  creatorId: string,
  memberIds: readonly string[],
  title: string | null,
  now: string,
): Promise<void> {
  const d1 = db.$client;
  await d1.batch([
    d1
      .prepare(
        "INSERT INTO conversations (id, kind, title, direct_key, created_by, created_at, updated_at, last_seq) VALUES (?, 'group', ?, NULL, ?, ?, ?, 0)",
      )
      .bind(id, title, creatorId, now, now),
    // json_each takes any number of members in one bound parameter (D1 allows 100 per statement).
    d1
      .prepare(
        "INSERT INTO participants (conversation_id, user_id, last_read_seq, joined_at) SELECT ?, value, 0, ? FROM json_each(?)",
      )
      .bind(id, now, JSON.stringify(memberIds)),
  ]);
}

export interface RoomSnapshot {
  conversation: {
    id: string;
    kind: "direct" | "group";
    title: string | null;
    createdAt: string;
    createdBy: string;
  };
  members: { user: User; joinedAt: string; active: boolean; lastReadSeq: number }[];
}

/** What a conversation's object loads the first time it runs. */
export async function loadRoomSnapshot(db: Db, id: string): Promise<RoomSnapshot | null> {
  const [convs, rows] = await db.batch([
    db.select().from(conversations).where(eq(conversations.id, id)),
    db
      .select({
        id: users.id,
        firstName: users.firstName,
        lastName: users.lastName,
        avatarUrl: users.avatarUrl,
        joinedAt: participants.joinedAt,
        leftAt: participants.leftAt,
        lastReadSeq: participants.lastReadSeq,
      })
      .from(participants)
      .innerJoin(users, eq(users.id, participants.userId))
      .where(eq(participants.conversationId, id)),
  ]);
  const c = convs[0];
  if (!c) return null;
  return {
    conversation: { id: c.id, kind: c.kind, title: c.title, createdAt: c.createdAt, createdBy: c.createdBy },
    members: rows.map((r) => ({
      user: toUser(r),
      joinedAt: r.joinedAt,
      active: r.leftAt === null,
      lastReadSeq: r.lastReadSeq,
    })),
  };
}

export async function addParticipantRows(
  db: Db,
  id: string,
  userIds: readonly string[],
  now: string,
): Promise<void> {
  await db.$client
    .prepare(
      `INSERT INTO participants (conversation_id, user_id, last_read_seq, joined_at)
       SELECT ?, value, 0, ? FROM json_each(?) WHERE true
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET left_at = NULL, hidden_at_seq = NULL`,
    )
    .bind(id, now, JSON.stringify(userIds))
    .run();
}

export async function markLeft(db: Db, id: string, userId: string, now: string): Promise<void> {
  await db
    .update(participants)
    .set({ leftAt: now })
    .where(and(eq(participants.conversationId, id), eq(participants.userId, userId)));
}

export async function markHidden(db: Db, id: string, userId: string, atSeq: number): Promise<void> {
  await db
    .update(participants)
    .set({ hiddenAtSeq: atSeq })
    .where(and(eq(participants.conversationId, id), eq(participants.userId, userId)));
}

/** Ids of the conversations a user takes part in (for fan-out of a profile change). */
export async function activeConversationIds(db: Db, userId: string, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: participants.conversationId })
    .from(participants)
    .where(and(eq(participants.userId, userId), isNull(participants.leftAt)))
    .limit(limit);
  return rows.map((r) => r.id);
}

function encodeCursor(updatedAt: string, id: string): string {
  return btoa(JSON.stringify([updatedAt, id])).replace(/=+$/, "");
}

export function decodeCursor(cursor: string): [string, string] | null {
  try {
    const value: unknown = JSON.parse(atob(cursor));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "string" &&
      typeof value[1] === "string"
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  return null;
}

/**
 * One page of a user's inbox in three queries, whatever the page size: the page itself, then (in
 * one batch) every participant of those conversations and every latest message with its sender.
 */
export async function listInbox(
  db: Db,
  userId: string,
  limit: number,
  cursor: [string, string] | null,
): Promise<InboxPage> {
  const visible = and(
    eq(participants.userId, userId),
    isNull(participants.leftAt),
    or(isNull(participants.hiddenAtSeq), sql`${conversations.lastSeq} > ${participants.hiddenAtSeq}`),
    cursor
      ? or(
          lt(conversations.updatedAt, cursor[0]),
          and(eq(conversations.updatedAt, cursor[0]), lt(conversations.id, cursor[1])),
        )
      : undefined,
  );
  const page = await db
    .select({
      id: conversations.id,
      kind: conversations.kind,
      title: conversations.title,
      createdAt: conversations.createdAt,
      updatedAt: conversations.updatedAt,
      lastSeq: conversations.lastSeq,
      lastReadSeq: participants.lastReadSeq,
    })
    .from(participants)
    .innerJoin(conversations, eq(conversations.id, participants.conversationId))
    .where(visible)
    .orderBy(desc(conversations.updatedAt), desc(conversations.id))
    .limit(limit + 1);

  const rows = page.slice(0, limit);
  if (rows.length === 0) return { conversations: [], nextCursor: null };
  const ids = rows.map((r) => r.id);

  const [people, latest] = await db.batch([
    db
      .select({
        conversationId: participants.conversationId,
        id: users.id,
        firstName: users.firstName,
        lastName: users.lastName,
        avatarUrl: users.avatarUrl,
      })
      .from(participants)
      .innerJoin(users, eq(users.id, participants.userId))
      .where(and(sql`${participants.conversationId} IN ${idsParam(ids)}`, isNull(participants.leftAt)))
      .orderBy(participants.joinedAt, users.id),
    db
      .select({
        message: messages,
        senderFirstName: users.firstName,
        senderLastName: users.lastName,
        senderAvatarUrl: users.avatarUrl,
      })
      .from(messages)
      .innerJoin(
        conversations,
        and(eq(conversations.id, messages.conversationId), eq(conversations.lastSeq, messages.seq)),
      )
      .innerJoin(users, eq(users.id, messages.senderId))
      .where(sql`${messages.conversationId} IN ${idsParam(ids)}`),
  ]);

  const byConversation = new Map<string, User[]>();
  for (const p of people) {
    const list = byConversation.get(p.conversationId) ?? [];
    list.push(toUser(p));
    byConversation.set(p.conversationId, list);
  }
  const lastByConversation = new Map(
    latest.map((l) => [
      l.message.conversationId,
      messageView(l.message.conversationId, l.message, {
        id: l.message.senderId,
        firstName: l.senderFirstName,
        lastName: l.senderLastName,
        avatarUrl: l.senderAvatarUrl,
      }),
    ]),
  );

  const last = rows[rows.length - 1];
  return {
    conversations: rows.map((r) =>
      conversationView(
        r,
        byConversation.get(r.id) ?? [],
        lastByConversation.get(r.id) ?? null,
        r.lastReadSeq,
      ),
    ),
    nextCursor: page.length > limit && last ? encodeCursor(last.updatedAt, last.id) : null,
  };
}
