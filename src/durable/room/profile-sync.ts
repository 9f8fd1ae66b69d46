import { openDb } from "../../db/client";
import { activeConversationIds } from "../../db/conversations";
import { describeError, log } from "../../log";
import type { User } from "../../protocol/models";
import { roomOf } from "./stub";

/** How many rooms one profile change refreshes; beyond it rooms keep the old profile until reloaded. */
const MAX_ROOMS = 500;

/** Rooms cache their members' profiles for live events; a profile change is pushed to them. */
export async function refreshProfileInRooms(env: Env, user: User): Promise<void> {
  try {
    const ids = await activeConversationIds(openDb(env.DB), user.id, MAX_ROOMS);
    await Promise.allSettled(ids.map((id) => roomOf(env, id).updateProfile(user)));
  } catch (err) {
    log("warn", "profile_sync_failed", { userId: user.id, ...describeError(err) });
  }
}
