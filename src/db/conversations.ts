import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import { directKeyOf } from "../ids";
import type { User } from "../protocol/models";
import type { InboxPage } from "../protocol/responses";
import { conversationView, messageView } from "../views";
import type { Db } from "./client";
import { toUser } from "./users";
import { conversations, messages, participants, users } from "./schema";

const idsParam = (ids: readonly string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/**
 * The direct conversation D1's directory has for a pair, if any. New pairs get an id derived from
 * the pair (ids.ts); this finds the ones created before, under a random id.
 */
export async function findDirectConversationId(db: Db, a: string, b: string): Promise<string | null> {
  const [row] = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(eq(conversations.directKey, directKeyOf(a, b)));
  return row?.id ?? null;
}

/** A participant as D1's directory has them. */
export interface DirectoryMember extends User {
  joinedAt: string;
  leftAt: string | null;
  hiddenAtSeq: number | null;
  lastReadSeq: number;
}

/** A conversation as D1's directory has it: what a room created before it owned membership loads once. */
export interface DirectorySnapshot {
  conversation: {
    kind: "direct" | "group";
    title: string | null;
    directKey: string | null;
    createdAt: string;
    createdBy: string;
  };
  members: DirectoryMember[];
}

export async function loadDirectorySnapshot(db: Db, id: string): Promise<DirectorySnapshot | null> {
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
        hiddenAtSeq: participants.hiddenAtSeq,
        lastReadSeq: participants.lastReadSeq,
      })
      .from(participants)
      .innerJoin(users, eq(users.id, participants.userId))
      .where(eq(participants.conversationId, id)),
  ]);
  const c = convs[0];
  if (!c) return null;
  return {
    conversation: {
      kind: c.kind,
      title: c.title,
      directKey: c.directKey,
      createdAt: c.createdAt,
      createdBy: c.createdBy,
    },
    members: rows.map((r) => ({
      ...toUser(r),
      joinedAt: r.joinedAt,
      leftAt: r.leftAt,
      hiddenAtSeq: r.hiddenAtSeq,
      lastReadSeq: r.lastReadSeq,
    })),
  };
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
