import { ApiError } from "../errors";

/**
 * Whether an account still exists, as every authenticated request asks (auth/credentials.ts): the
 * user's own inbox object records a deletion before anything else happens (DELETE /api/me), so it
 * is the one consistent place to ask, per user, with nothing shared on the way. A token says
 * nothing about it: every token issued before the deletion is refused from its first moment.
 */

/** Deleted accounts this isolate has seen: a deletion is final, so this never goes stale. */
const deleted = new Map<string, number>();
/** Bounded: forgetting one costs one more question to its inbox. */
const MAX_DELETED = 10_000;

export const accountDeleted = (): ApiError => new ApiError("unauthorized", "This account was deleted");

/** When the user deleted their account (ms since the epoch), or null while it exists. */
export async function accountDeletedAt(env: Env, userId: string): Promise<number | null> {
  const known = deleted.get(userId);
  if (known !== undefined) return known;
  const at = await env.USER_INBOX.getByName(userId).deletedAt();
  if (at !== null) {
    deleted.set(userId, at);
    if (deleted.size > MAX_DELETED) {
      const oldest = deleted.keys().next().value;
      if (oldest !== undefined) deleted.delete(oldest);
    }
  }
  return at;
}

/** Throws 401 if the user deleted their account. */
export async function requireLiveAccount(env: Env, userId: string): Promise<void> {
  if ((await accountDeletedAt(env, userId)) !== null) throw accountDeleted();
}
