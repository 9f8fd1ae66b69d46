import type { Context } from "hono";
import { accountDeleted } from "../auth/account-state";
import { verifyPassword } from "../auth/password";
import { enforceLoginLimits } from "../auth/rate-limit";
import { openDb } from "../db/client";
import { findUserById } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * DELETE /api/me (API.md, "Your data"). The caller proves it is them once more: an account with a
 * password gives it (a stolen token alone deletes nothing; attempts count against the login limits
 * of the account); an account without one (the identity provider's, or the server API's) needs a
 * token from a sign-in at most ACCOUNT_DELETE_FRESH_SECONDS old. Either refusal is a 403, not a 401:
 * the token itself is fine, and a client must not sign out over a mistyped password.
 *
 * Then the user's inbox object records the deletion before anything else (from then on every token
 * of theirs is refused: auth/account-state.ts) and runs the rest in bounded steps, the first before
 * this answers: durable/inbox/erasure.ts.
 */
export async function deleteAccount(c: Context<AppEnv>, password: string | undefined): Promise<void> {
  const auth = c.get("auth");
  const user = await findUserById(openDb(c.env.DB), auth.userId);
  if (!user || user.deletedAt !== null) throw accountDeleted();
  if (user.passwordHash !== null) {
    if (password === undefined) {
      throw new ApiError("validation_failed", "Your password is required to delete your account", {
        details: [{ path: "password", message: "required for an account with a password" }],
      });
    }
    if (user.email !== null) await enforceLoginLimits(c, user.email);
    if (!(await verifyPassword(password, user.passwordHash))) {
      throw new ApiError("forbidden", "The password is incorrect; nothing was deleted");
    }
  } else {
    const signedInAt = auth.authTime ?? 0;
    if (Date.now() / 1000 - signedInAt > c.get("limits").accountDeleteFreshSeconds) {
      throw new ApiError("forbidden", "Sign in again to delete your account; nothing was deleted");
    }
  }
  await c.env.USER_INBOX.getByName(user.id).eraseAccount(Date.now());
}
