import { and, eq, gt, isNotNull, or, sql } from "drizzle-orm";
import type { User } from "../protocol/models";
import type { Db } from "./client";
import { blocks, participants, users } from "./schema";
import { UNSEARCHABLE_KEY } from "./search-key";

/**
 * Deleted accounts in the directory (DELETE /api/me). The user's row stays, so the people who shared
 * conversations with them still see a name on the tombstones; everything personal in it goes.
 */

/** What a deleted account is shown as, everywhere: one name (groups show first names only). */
export const DELETED_PROFILE: Omit<User, "id"> = { firstName: "Deleted user", lastName: "", avatarUrl: null };

/**
 * Turns the row into "Deleted user": no email (an own account's address is free to register again
 * at once), avatar, password or claims; out of the people search (keys no query reaches, so a search
 * never even reads them). Blocks made by or against the account go too. Idempotent: a retry keeps
 * the first deletion time. The external id stays until a newer sign-in claims it (releaseExternalId).
 */
export async function markUserDeleted(db: Db, userId: string, deletedAt: string): Promise<void> {
  await db.batch([
    db
      .update(users)
      .set({
        ...DELETED_PROFILE,
        email: null,
        passwordHash: null,
        claimsHash: null,
        nameKey: UNSEARCHABLE_KEY,
        nameKeyReversed: UNSEARCHABLE_KEY,
        deletedAt: sql`coalesce(${users.deletedAt}, ${deletedAt})`,
      })
      .where(eq(users.id, userId)),
    db.delete(blocks).where(or(eq(blocks.blockerId, userId), eq(blocks.blockedId, userId))),
  ]);
}

/**
 * A deleted account gives its external id up, so the host application's person can start a new one:
 * the server API's PUT, or a provider token issued after the deletion (the ones from before stay
 * refused, see external-users.ts).
 */
export async function releaseExternalId(db: Db, externalId: string): Promise<void> {
  await db
    .update(users)
    .set({ externalId: null })
    .where(and(eq(users.externalId, externalId), isNotNull(users.deletedAt)));
}

/**
 * Ids of every conversation the user was ever a participant of (left ones included: their messages
 * are there too), in id order from `after`: what an account's deletion has to visit.
 */
export async function everyConversationId(
  db: Db,
  userId: string,
  limit: number,
  after = "",
): Promise<string[]> {
  const rows = await db
    .select({ id: participants.conversationId })
    .from(participants)
    .where(and(eq(participants.userId, userId), gt(participants.conversationId, after)))
    .orderBy(participants.conversationId)
    .limit(limit);
  return rows.map((r) => r.id);
}
