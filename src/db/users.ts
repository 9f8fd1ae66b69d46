import { and, eq, gte, inArray, isNull, lt, ne } from "drizzle-orm";
import { newId, nowIso } from "../ids";
import type { Me, User } from "../protocol/models";
import { releaseExternalId } from "./accounts";
import type { Db } from "./client";
import { nameKeys, prefixRange, searchKey } from "./search-key";
import { type UserRow, users } from "./schema";

export const toUser = (row: Pick<UserRow, "id" | "firstName" | "lastName" | "avatarUrl">): User => ({
  id: row.id,
  firstName: row.firstName,
  lastName: row.lastName,
  avatarUrl: row.avatarUrl,
});

/** The caller's own user (and what the server API answers): with email and external id. */
export const toMe = (
  row: Pick<UserRow, "id" | "firstName" | "lastName" | "avatarUrl" | "email" | "externalId">,
): Me => ({
  ...toUser(row),
  email: row.email,
  externalId: row.externalId,
});

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/** The own account (the one that signs in with a password) with this email; external users never match. */
export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db
    .select()
    .from(users)
    .where(and(eq(users.email, normalizeEmail(email)), isNull(users.externalId)))
    .get();
}

export async function findUserByExternalId(db: Db, externalId: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.externalId, externalId)).get();
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get();
}

/**
 * Profiles by id; with `activeOnly`, deleted accounts are left out (they cannot be put in a
 * conversation: to the caller they are unknown users).
 */
export async function findUsersByIds(
  db: Db,
  ids: readonly string[],
  options: { activeOnly?: boolean } = {},
): Promise<User[]> {
  if (ids.length === 0) return [];
  const rows: User[] = [];
  // D1 binds at most 100 parameters per statement.
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    const found = await db
      .select({
        id: users.id,
        firstName: users.firstName,
        lastName: users.lastName,
        avatarUrl: users.avatarUrl,
      })
      .from(users)
      .where(
        options.activeOnly
          ? and(inArray(users.id, chunk), isNull(users.deletedAt))
          : inArray(users.id, chunk),
      )
      .all();
    rows.push(...found);
  }
  return rows;
}

/** A user as registration stores it; the search keys are derived here, from the names. */
export type NewUser = Omit<UserRow, "nameKey" | "nameKeyReversed" | "deletedAt">;

/**
 * Inserts a user; returns false when an own account's email or an external id is taken (the unique
 * indexes decide, not a read).
 */
export async function insertUser(db: Db, row: NewUser): Promise<boolean> {
  const inserted = await db
    .insert(users)
    .values({ ...row, ...nameKeys(row.firstName, row.lastName) })
    .onConflictDoNothing()
    .returning({ id: users.id });
  return inserted.length === 1;
}

/** How often a name change is tried again when a change of the other name won the race. */
const NAME_UPDATE_ATTEMPTS = 5;

/**
 * Applies a profile patch. A name change rewrites the search keys in the same statement. A patch
 * with both names needs nothing else and always applies; a patch with one name computes the keys
 * with the other name as read, and applies only while that name is still the one read (a racing
 * change of it wins, and this one is tried again with the new one), so keys always belong to the
 * names stored. Racing changes of the same name never conflict: the last statement wins, whole.
 */
export async function updateUser(
  db: Db,
  id: string,
  patch: Partial<Pick<UserRow, "firstName" | "lastName" | "avatarUrl" | "email" | "claimsHash">>,
): Promise<UserRow | undefined> {
  if (Object.keys(patch).length === 0) return findUserById(db, id);
  // A deleted account stays "Deleted user": a change racing its deletion finds no user.
  const live = and(eq(users.id, id), isNull(users.deletedAt));
  const { firstName, lastName } = patch;
  if (firstName === undefined && lastName === undefined)
    return db.update(users).set(patch).where(live).returning().get();
  if (firstName !== undefined && lastName !== undefined)
    return db
      .update(users)
      .set({ ...patch, ...nameKeys(firstName, lastName) })
      .where(live)
      .returning()
      .get();
  for (let attempt = 0; attempt < NAME_UPDATE_ATTEMPTS; attempt++) {
    const current = await findUserById(db, id);
    if (!current || current.deletedAt !== null) return undefined;
    const kept =
      firstName === undefined ? eq(users.firstName, current.firstName) : eq(users.lastName, current.lastName);
    const updated = await db
      .update(users)
      .set({ ...patch, ...nameKeys(firstName ?? current.firstName, lastName ?? current.lastName) })
      .where(and(live, kept))
      .returning()
      .get();
    if (updated) return updated;
  }
  throw new Error(`profile update of ${id} kept racing other changes`);
}

/**
 * Creates or replaces the profile of the user with this external id (the server API) in one
 * statement; `created` tells which happened. An account with this id that was deleted gives the id
 * up first: the host application's person gets a new, empty account.
 */
export async function upsertExternalUser(
  db: Db,
  externalId: string,
  profile: Pick<UserRow, "firstName" | "lastName" | "avatarUrl" | "email">,
): Promise<{ user: UserRow; created: boolean }> {
  const id = newId("u");
  const set = { ...profile, ...nameKeys(profile.firstName, profile.lastName) };
  await releaseExternalId(db, externalId);
  const user = await db
    .insert(users)
    .values({ id, externalId, passwordHash: null, createdAt: nowIso(), claimsHash: null, ...set })
    .onConflictDoUpdate({ target: users.externalId, set })
    .returning()
    .get();
  return { user, created: user.id === id };
}

const publicColumns = {
  id: users.id,
  firstName: users.firstName,
  lastName: users.lastName,
  avatarUrl: users.avatarUrl,
};

/**
 * People search (API.md, GET /api/users): a prefix of "first last" or "last first" (folded, see
 * search-key.ts), or the one person whose email is exactly `q`. Email addresses are private, so
 * they are matched whole, never by prefix. Each lookup is a range of an index read in order and
 * stopped at `limit`: the cost does not grow with the number of users. Name matches come first
 * (by full name), then last-name matches (by last name); an exact email match leads (an own
 * account before an external user with the same address).
 */
export async function searchUsers(db: Db, q: string, excludeId: string, limit: number): Promise<User[]> {
  const key = searchKey(q);
  const { from, below } = prefixRange(key);
  const byPrefix = (column: typeof users.nameKey | typeof users.nameKeyReversed) =>
    db
      .select(publicColumns)
      .from(users)
      .where(and(gte(column, from), lt(column, below), ne(users.id, excludeId)))
      .orderBy(column, users.id)
      .limit(limit);
  const byName = byPrefix(users.nameKey);
  const byReversedName = byPrefix(users.nameKeyReversed);
  const byEmail = db
    .select(publicColumns)
    .from(users)
    .where(and(eq(users.email, normalizeEmail(q)), ne(users.id, excludeId)))
    .orderBy(users.externalId)
    .limit(1);
  // Without an @ the query cannot be an address: one lookup fewer.
  const found = q.includes("@")
    ? (await db.batch([byEmail, byName, byReversedName])).flat()
    : (await db.batch([byName, byReversedName])).flat();
  const seen = new Set<string>();
  const out: User[] = [];
  for (const user of found) {
    if (seen.has(user.id)) continue;
    seen.add(user.id);
    out.push(user);
    if (out.length === limit) break;
  }
  return out;
}
