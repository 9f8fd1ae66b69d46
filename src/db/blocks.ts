import { and, desc, eq } from "drizzle-orm";
import { nowIso } from "../ids";
import type { User } from "../protocol/models";
import type { Db } from "./client";
import { blocks, users } from "./schema";

/** Blocks between people (the directory's `blocks` table): who may not start or add whom. */

/** `blockerId` blocks `blockedId`; blocking twice changes nothing. */
export async function block(db: Db, blockerId: string, blockedId: string): Promise<void> {
  await db.insert(blocks).values({ blockerId, blockedId, createdAt: nowIso() }).onConflictDoNothing();
}

export async function unblock(db: Db, blockerId: string, blockedId: string): Promise<void> {
  await db.delete(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)));
}

/** The people `blockerId` blocked, most recent first. */
export async function blockedBy(db: Db, blockerId: string): Promise<User[]> {
  return db
    .select({
      id: users.id,
      firstName: users.firstName,
      lastName: users.lastName,
      avatarUrl: users.avatarUrl,
    })
    .from(blocks)
    .innerJoin(users, eq(users.id, blocks.blockedId))
    .where(eq(blocks.blockerId, blockerId))
    .orderBy(desc(blocks.createdAt));
}

/**
 * Which of `candidates` have blocked `userId` (they cannot be put in a conversation by them). One
 * indexed read of who blocked `userId`, usually nobody, whatever the number of candidates.
 */
export async function blockersAmong(
  db: Db,
  userId: string,
  candidates: readonly string[],
): Promise<Set<string>> {
  if (candidates.length === 0) return new Set();
  const wanted = new Set(candidates);
  const rows = await db.select({ id: blocks.blockerId }).from(blocks).where(eq(blocks.blockedId, userId));
  return new Set(rows.map((r) => r.id).filter((id) => wanted.has(id)));
}
