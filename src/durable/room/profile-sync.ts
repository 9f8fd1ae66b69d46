import { describeError, log } from "../../log";
import type { User } from "../../protocol/models";

/**
 * Rooms cache their members' profiles for live events and history. A change is handed to the
 * user's inbox, which passes it on to every room of theirs in bounded batches from its alarm, each
 * push numbered so a room keeps the newest (src/durable/inbox/profile-sync.ts): one call here,
 * whatever the number of rooms. Call it after the directory has the new profile.
 */
export async function refreshProfileInRooms(
  env: Pick<Env, "USER_INBOX">,
  user: Pick<User, "id">,
): Promise<void> {
  try {
    await env.USER_INBOX.getByName(user.id).profileChanged();
  } catch (err) {
    log("warn", "profile_sync_failed", { userId: user.id, ...describeError(err) });
  }
}
