import { accountDeleted } from "../auth/account-state";
import type { Limits } from "../config";
import { blockedBy } from "../db/blocks";
import { openDb } from "../db/client";
import { activeConversationIds } from "../db/conversations";
import { findUserById, toMe } from "../db/users";
import { decodeCursor } from "../durable/inbox/cursor";
import type { UserInbox } from "../durable/inbox/user-inbox";
import { callRoom, roomOf } from "../durable/room/stub";
import { ApiError, notFound } from "../errors";
import type { Conversation, Message } from "../protocol/models";
import type { InboxPage, UserExport } from "../protocol/responses";

const PAGE = 100;

/**
 * Everything the service keeps about one user (API.md, "Your data"): the profile, the conversations
 * they are in, the messages they sent (tombstones left out: nothing of theirs remains in them), the
 * people they blocked and the push endpoints of their browsers. Nothing of anyone else's beyond what
 * the user sees in those conversations themselves.
 */
export async function exportUserData(env: Env, userId: string, limits: Limits): Promise<UserExport> {
  const db = openDb(env.DB);
  const user = await findUserById(db, userId);
  if (!user) throw notFound("User not found");
  // The token check refuses a deleted account's tokens already; this is the directory's word.
  if (user.deletedAt !== null) throw accountDeleted();
  const inbox = env.USER_INBOX.getByName(userId);
  const ids = new Set([...(await listedIds(inbox)), ...(await directoryIds(env, userId))]);
  const conversations: Conversation[] = [];
  const messages: Message[] = [];
  for (const id of [...ids].sort()) {
    const room = roomOf(env, id);
    let conversation: Conversation;
    try {
      conversation = await callRoom(room.view(userId));
    } catch (err) {
      // Left or never created since the directory or the inbox listed it: not theirs to export.
      if (err instanceof ApiError && (err.code === "not_found" || err.code === "forbidden")) continue;
      throw err;
    }
    conversations.push(conversation);
    for (let after = 0; ;) {
      const page = await callRoom(room.history(userId, { after, limit: limits.historyPageMax }));
      for (const m of page.messages) if (m.sender?.id === userId && m.deletedAt === null) messages.push(m);
      const last = page.messages.at(-1);
      if (!page.hasMore || last === undefined) break;
      after = last.seq;
    }
  }
  const [blocks, pushEndpoints] = await Promise.all([blockedBy(db, userId), inbox.pushEndpoints()]);
  return {
    exportedAt: new Date().toISOString(),
    user: toMe(user),
    conversations,
    messages,
    blocks,
    pushSubscriptions: pushEndpoints.map((endpoint) => ({ endpoint })),
  };
}

/** The conversations of the user's inbox listing (it knows new ones before the directory does). */
async function listedIds(inbox: DurableObjectStub<UserInbox>): Promise<string[]> {
  const ids: string[] = [];
  for (let cursor: string | null = null; ;) {
    const decoded = cursor === null ? null : decodeCursor(cursor);
    const page = JSON.parse(await inbox.list(50, decoded)) as InboxPage;
    ids.push(...page.conversations.map((c) => c.id));
    if (page.nextCursor === null || page.nextCursor === cursor) return ids;
    cursor = page.nextCursor;
  }
}

/** The conversations the directory counts the user in (hidden direct conversations included). */
async function directoryIds(env: Env, userId: string): Promise<string[]> {
  const db = openDb(env.DB);
  const ids: string[] = [];
  for (let after = ""; ;) {
    const page = await activeConversationIds(db, userId, PAGE, after);
    ids.push(...page);
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) return ids;
    after = last;
  }
}
