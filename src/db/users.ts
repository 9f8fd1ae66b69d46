import { type SQLWrapper, and, eq, inArray, ne, or, sql } from "drizzle-orm";
import type { Me, User } from "../protocol/models";
import type { Db } from "./client";
import { type UserRow, users } from "./schema";

export const toUser = (row: Pick<UserRow, "id" | "firstName" | "lastName" | "avatarUrl">): User => ({
  id: row.id,
  firstName: row.firstName,
  lastName: row.lastName,
  avatarUrl: row.avatarUrl,
});

export const toMe = (row: UserRow): Me => ({ ...toUser(row), email: row.email });

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db
    .select()
    .from(users)
    .where(eq(users.email, normalizeEmail(email)))
    .get();
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export async function findUsersByIds(db: Db, ids: readonly string[]): Promise<User[]> {
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
      .where(inArray(users.id, chunk))
      .all();
    rows.push(...found);
  }
  return rows;
}

/** Inserts a user; returns false when the email is taken (the unique index decides, not a read). */
export async function insertUser(db: Db, row: UserRow): Promise<boolean> {
  const inserted = await db.insert(users).values(row).onConflictDoNothing().returning({ id: users.id });
  return inserted.length === 1;
}

export async function updateUser(
  db: Db,
  id: string,
  patch: Partial<Pick<UserRow, "firstName" | "lastName" | "avatarUrl">>,
): Promise<UserRow | undefined> {
  if (Object.keys(patch).length === 0) return findUserById(db, id);
  return db.update(users).set(patch).where(eq(users.id, id)).returning().get();
}

/** Prefix search on first name, last name, full name or email; LIKE wildcards in `q` are escaped. */
export async function searchUsers(db: Db, q: string, excludeId: string, limit: number): Promise<User[]> {
  const prefix = `${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  const likeEscaped = (column: SQLWrapper) => sql`${column} LIKE ${prefix} ESCAPE '\\'`;
  return db
    .select({
      id: users.id,
      firstName: users.firstName,
      lastName: users.lastName,
      avatarUrl: users.avatarUrl,
    })
    .from(users)
    .where(
      and(
        ne(users.id, excludeId),
        or(
          likeEscaped(users.firstName),
          likeEscaped(users.lastName),
          likeEscaped(users.email),
          sql`(${users.firstName} || ' ' || ${users.lastName}) LIKE ${prefix} ESCAPE '\\'`,
        ),
      ),
    )
    .orderBy(users.firstName, users.lastName, users.id)
    .limit(limit)
    .all();
}
