import type { Limits } from "../config";
import { blockersAmong } from "../db/blocks";
import { openDb } from "../db/client";
import { findDirectConversationId } from "../db/conversations";
import { findUsersByIds } from "../db/users";
import { refundBudget, spendBudget } from "../durable/inbox/budget-client";
import type { NewConversation } from "../durable/room/membership";
import type { Opened } from "../durable/room/rpc-types";
import { callRoom, roomOf } from "../durable/room/stub";
import { ApiError } from "../errors";
import { directConversationId, newId, nowIso } from "../ids";
import type { User } from "../protocol/models";
import type { ConversationCreated } from "../protocol/responses";

/** The body of `POST /api/conversations` once its schema accepted it. */
export interface CreateConversationInput {
  participantIds: string[];
  title?: string | undefined;
  body?: string | undefined;
  clientId?: string | undefined;
}

/**
 * Starts a conversation for `creatorId`: the one path of `POST /api/conversations` (the caller) and
 * `POST /api/server/conversations` (`createdBy`, named by the host application's backend). Exactly
 * one other participant and no title: the pair's direct conversation, created on first use (201)
 * or returned (200); otherwise a new group with the creator in it (201). With `body`, that first
 * message is sent in it by the creator. Either way a new conversation spends from the creator's
 * budget.
 *
 * `unknownCreator` is what a creator who does not exist is: a 404 for a caller whose token outlived
 * their user, a 422 for a server API body naming nobody.
 */
export async function createConversation(
  env: Env,
  limits: Limits,
  creatorId: string,
  input: CreateConversationInput,
  unknownCreator: () => ApiError,
): Promise<{ result: ConversationCreated; status: 200 | 201 }> {
  const others = [...new Set(input.participantIds)].filter((id) => id !== creatorId);
  if (others.length === 0) {
    throw new ApiError("validation_failed", "A conversation needs at least one other participant", {
      details: [{ path: "participantIds", message: "must name someone other than the creator" }],
    });
  }
  const maxGroup = limits.maxGroupSize;
  if (others.length + 1 > maxGroup) {
    throw new ApiError("validation_failed", `A conversation has at most ${maxGroup} participants`, {
      details: [{ path: "participantIds", message: "too many participants" }],
    });
  }
  const members = await peopleOf(env, creatorId, others, unknownCreator);
  const [onlyOther] = others;
  const direct = others.length === 1 && onlyOther !== undefined && input.title === undefined;
  let id: string;
  let snapshot: NewConversation | null;
  const createdAt = nowIso();
  if (direct) {
    // One direct conversation per pair: its id is derived from the pair, so racing first requests
    // meet in one room, which creates it once. A pair's conversation from before (random id, in
    // D1's directory) is kept.
    const existing = await findDirectConversationId(openDb(env.DB), creatorId, onlyOther);
    id = existing ?? (await directConversationId(creatorId, onlyOther));
    snapshot = existing ? null : { kind: "direct", title: null, createdBy: creatorId, createdAt, members };
  } else {
    id = newId("c");
    snapshot = { kind: "group", title: input.title ?? null, createdBy: creatorId, createdAt, members };
  }
  const first = input.body === undefined ? null : { body: input.body, clientId: input.clientId };
  // A new conversation spends from the creator's budget (USER_CONVERSATIONS_PER_HOUR); given back
  // when the room had it already (a direct conversation asked for again) or nothing was made.
  if (snapshot) await spendBudget(env, creatorId, "conversations", 1);
  let opened: Opened;
  try {
    opened = await callRoom(roomOf(env, id).open(creatorId, snapshot, first));
  } catch (err) {
    if (snapshot) await refundBudget(env, creatorId, "conversations", 1);
    throw err;
  }
  if (snapshot && !opened.created) await refundBudget(env, creatorId, "conversations", 1);
  const result: ConversationCreated = opened.message
    ? { conversation: opened.conversation, message: opened.message }
    : { conversation: opened.conversation };
  return { result, status: opened.created ? 201 : 200 };
}

/**
 * The people `me` may put in a conversation, found by id: every id must exist, not be a deleted
 * account and not have blocked `me`. Someone who blocked them gets the very answer of an unknown
 * user (a 422 naming the id), so a block is never revealed. `path` names the body field in the error.
 */
export async function addablePeople(
  env: Env,
  me: string,
  ids: string[],
  path: string,
): Promise<Map<string, User>> {
  const db = openDb(env.DB);
  const [users, blockers] = await Promise.all([
    findUsersByIds(db, ids, { activeOnly: true }),
    blockersAmong(db, me, ids),
  ]);
  const found = new Map(users.filter((u) => !blockers.has(u.id)).map((u) => [u.id, u]));
  const missing = ids.filter((id) => id !== me && !found.has(id));
  if (missing.length > 0) {
    throw new ApiError("validation_failed", "Unknown users", {
      details: missing.slice(0, 20).map((id) => ({ path, message: `unknown user ${id}` })),
    });
  }
  return found;
}

/** The people of a new conversation, the creator first (see addablePeople: 422 for unknown or blocking). */
async function peopleOf(
  env: Env,
  creatorId: string,
  others: string[],
  unknownCreator: () => ApiError,
): Promise<User[]> {
  const found = await addablePeople(env, creatorId, [creatorId, ...others], "participantIds");
  const creator = found.get(creatorId);
  if (!creator) throw unknownCreator();
  return [creator, ...others.flatMap((id) => found.get(id) ?? [])];
}
