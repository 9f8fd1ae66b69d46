import { and, eq, gt, isNull } from "drizzle-orm";
import { directKeyOf } from "../ids";
import type { User } from "../protocol/models";
import type { Db } from "./client";
import { toUser } from "./users";
import { conversations, participants, users } from "./schema";

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
  muted: boolean;
}

/** A conversation as D1's directory has it: what a room created before it owned membership loads once. */
export interface DirectorySnapshot {
  conversation: {
    kind: "direct" | "group";
    title: string | null;
    directKey: string | null;
    createdAt: string;
    createdBy: string;
    /** The history shard's binding name; null for a conversation from before sharding. */
    shard: string | null;
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
        muted: participants.muted,
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
      shard: c.shard,
    },
    members: rows.map((r) => ({
      ...toUser(r),
      joinedAt: r.joinedAt,
      leftAt: r.leftAt,
      hiddenAtSeq: r.hiddenAtSeq,
      lastReadSeq: r.lastReadSeq,
      muted: r.muted,
    })),
  };
}

/**
 * Ids of the conversations a user takes part in, in id order from `after` (a profile change's
 * fan-out; an inbox filling itself from the directory, page by page).
 */
export async function activeConversationIds(
  db: Db,
  userId: string,
  limit: number,
  after = "",
): Promise<string[]> {
  const rows = await db
    .select({ id: participants.conversationId })
    .from(participants)
    .where(
      and(
        eq(participants.userId, userId),
        isNull(participants.leftAt),
        gt(participants.conversationId, after),
      ),
    )
    .orderBy(participants.conversationId)
    .limit(limit);
  return rows.map((r) => r.id);
}
