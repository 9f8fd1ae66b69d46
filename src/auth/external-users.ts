import type { JWTPayload } from "jose";
import type { Limits } from "../config";
import type { ExternalAuthSettings } from "./external-settings";
import { releaseExternalId } from "../db/accounts";
import type { Db } from "../db/client";
import type { UserRow } from "../db/schema";
import { type NewUser, findUserByExternalId, insertUser, updateUser } from "../db/users";
import { newId, nowIso } from "../ids";
import { accountDeleted } from "./account-state";
import { type ClaimedProfile, fallbackNames, profileFromClaims, profileHash } from "./external-profile";

/**
 * Users of the host application's identity provider. The first token with a new `sub` creates the
 * user; a later token whose claims describe a different profile than the last one updates it.
 * Neither happens per request: each isolate remembers which `sub` is which user and the hash of the
 * claims it last saw, so a token with known claims costs no D1 query at all, and an isolate's first
 * sight of a user one read (and a write only if the claims changed).
 */

interface Known {
  userId: string;
  claimsHash: string;
}

/** Bounded: an isolate serving many users forgets the oldest (one D1 read brings one back). */
const MAX_KNOWN = 10_000;
const known = new Map<string, Known>();

function remember(externalId: string, entry: Known): void {
  known.delete(externalId);
  known.set(externalId, entry);
  if (known.size > MAX_KNOWN) {
    const oldest = known.keys().next().value;
    if (oldest !== undefined) known.delete(oldest);
  }
}

export interface SyncedUser {
  userId: string;
  /** The stored profile changed (rooms caching it should hear); undefined when nothing was written. */
  updated?: UserRow;
}

/** Forgets what this isolate knew of an external id (its account was deleted). */
export function forgetExternalUser(externalId: string): void {
  known.delete(externalId);
}

export async function userForExternalToken(
  db: Db,
  externalId: string,
  claims: JWTPayload,
  settings: ExternalAuthSettings,
  limits: Limits,
): Promise<SyncedUser> {
  const profile = profileFromClaims(claims, settings.claims, limits);
  const hash = await profileHash(profile);
  const hit = known.get(externalId);
  if (hit && hit.claimsHash === hash) return { userId: hit.userId };
  const issuedAt = typeof claims.iat === "number" ? claims.iat : null;
  const result = await syncExternalUser(db, externalId, profile, hash, limits, issuedAt);
  remember(externalId, { userId: result.userId, claimsHash: hash });
  return result;
}

async function syncExternalUser(
  db: Db,
  externalId: string,
  profile: ClaimedProfile,
  hash: string,
  limits: Limits,
  issuedAt: number | null,
): Promise<SyncedUser> {
  let existing = await findUserByExternalId(db, externalId);
  if (existing?.deletedAt) {
    // The id's account was deleted: a token from before stays refused; one issued since starts a
    // new, empty account (the person is still the host application's user).
    if (issuedAt === null || issuedAt * 1000 <= Date.parse(existing.deletedAt)) throw accountDeleted();
    await releaseExternalId(db, externalId);
    existing = undefined;
  }
  if (!existing) {
    const row: NewUser = {
      id: newId("u"),
      email: profile.email ?? null,
      passwordHash: null,
      ...fallbackNames(profile, limits),
      avatarUrl: profile.avatarUrl ?? null,
      createdAt: nowIso(),
      externalId,
      claimsHash: hash,
    };
    if (await insertUser(db, row)) return { userId: row.id };
    // Another first request for this sub won the race: update the user it created.
    existing = await findUserByExternalId(db, externalId);
    if (!existing) throw new Error("external user vanished after a conflicting insert");
  }
  // Only what the claims say; what they leave out (or a profile edited since) stays.
  if (existing.claimsHash === hash) return { userId: existing.id };
  const updated = await updateUser(db, existing.id, { ...profile, claimsHash: hash });
  return { userId: existing.id, updated };
}
