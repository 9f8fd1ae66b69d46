import { FileLinks } from "../attachments/links";
import type { Limits } from "../config";
import { openDb } from "../db/client";
import { type ShardHit, searchShard } from "../db/message-search";
import { LEGACY_SHARD, shardDb } from "../db/shards";
import { findUsersByIds } from "../db/users";
import { ApiError, notFound } from "../errors";
import { describeError, log } from "../log";
import type { User } from "../protocol/models";
import type { SearchConversation, SearchPage } from "../protocol/responses";
import type { SearchQuery } from "../protocol/search";
import { messageView } from "../views";
import { type SearchCursor, decodeSearchCursor, encodeSearchCursor } from "./cursor";
import { bodyMatch, conversationMatch } from "./fts-query";
import { markSnippet } from "./snippet";

/**
 * `GET /api/search` (README, "Search"): the caller's current conversations come from their inbox
 * object (left ones are not there), are grouped by the history shard holding them, and every
 * shard's index is asked for one page in parallel; the pages are merged newest first (by
 * `createdAt`, each shard's stream in its own arrival order) and cut to `limit`. The cursor keeps
 * a position per shard (./cursor.ts).
 *
 * Search reads D1: a message is found once its room's outbox copied it to the shard (within
 * OUTBOX_FLUSH_MS; later while its shard is unreachable). A REST send answers after that copy.
 */

/**
 * Up to this many conversations on one shard, the query also keeps to them inside the index, so a
 * common word is not looked up across every conversation of the shard; beyond, the rows are
 * filtered after the index (an OR over many conversations costs the index more than the filter).
 * On 200,000 messages in 2,000 conversations: 5 conversations 0.5 ms inside against 8–22 ms after;
 * 50 conversations 6–8 ms inside against 1–2 ms after.
 */
export const CONVERSATIONS_IN_INDEX = 16;

/** Below every rowid: the start of a shard's stream. */
const TOP = Number.MAX_SAFE_INTEGER;

export async function searchMessages(
  env: Env,
  limits: Limits,
  userId: string,
  query: SearchQuery,
): Promise<SearchPage> {
  const cursor = query.cursor === undefined ? null : decodeSearchCursor(query.cursor);
  if (query.cursor !== undefined && cursor === null) {
    throw new ApiError("validation_failed", "Query is invalid", {
      details: [{ path: "cursor", message: "cursor is not one this server gave out" }],
    });
  }
  const scope = await env.USER_INBOX.getByName(userId).searchScope(query.conversationId ?? null);
  if (query.conversationId !== undefined && scope.length === 0) throw notFound("Conversation not found");
  const body = bodyMatch(query.q, limits.messageSearchPrefixMinChars);
  if (body === null || scope.length === 0) return { results: [], nextCursor: null };

  const byShard = await groupByShard(env, limits, scope);
  const streams = await Promise.all(
    [...byShard].map(async ([shard, ids]) => {
      const below = cursor ? (cursor.get(shard) ?? TOP) : TOP;
      if (below === 0) return { shard, below, hits: [] };
      const match = ids.length <= CONVERSATIONS_IN_INDEX ? `${body} AND ${conversationMatch(ids)}` : body;
      const hits = await readShard(env, shard, match, ids, below, query.limit + 1, userId);
      return { shard, below, hits };
    }),
  );

  const page = merge(streams, query.limit);
  const senders = await sendersOf(env, page.taken);
  const conversations = new Map(scope.map((c) => [c.id, c]));
  // A message's files with links signed for the caller, as the room shows them.
  const links = new FileLinks(env.JWT_SECRET, limits.attachmentUrlTtlSeconds);
  return {
    results: page.taken.map((hit) => ({
      // A REST message: with the caller's own reactions.
      message: {
        ...messageView(
          hit.conversationId,
          hit,
          hit.senderId === null ? undefined : senders.get(hit.senderId),
          hit.replyTo?.senderId ? senders.get(hit.replyTo.senderId) : undefined,
          (fileId) => links.url(hit.conversationId, fileId, userId),
        ),
        myReactions: hit.deletedAt ? [] : hit.myReactions,
      },
      conversation: conversations.get(hit.conversationId) ?? {
        id: hit.conversationId,
        kind: "group",
        title: null,
      },
      snippet: markSnippet(hit.snippet),
    })),
    nextCursor: page.next === null ? null : encodeSearchCursor(page.next),
  };
}

/**
 * The caller's conversations per shard, as the directory records each one's shard (null: from
 * before sharding, the legacy shard). With one possible shard the directory is not asked.
 */
async function groupByShard(
  env: Env,
  limits: Limits,
  scope: readonly SearchConversation[],
): Promise<Map<string, string[]>> {
  const ids = scope.map((c) => c.id);
  const possible = new Set([LEGACY_SHARD, ...limits.historyShards]);
  if (possible.size === 1) return new Map([[LEGACY_SHARD, ids]]);
  const { results } = await env.DB.prepare(
    "SELECT id, shard FROM conversations WHERE id IN (SELECT value FROM json_each(?))",
  )
    .bind(JSON.stringify(ids))
    .all<{ id: string; shard: string | null }>();
  const byShard = new Map<string, string[]>();
  for (const row of results) {
    // A conversation not in the directory yet has nothing in a shard yet either.
    const shard = row.shard ?? LEGACY_SHARD;
    byShard.set(shard, [...(byShard.get(shard) ?? []), row.id]);
  }
  return byShard;
}

/** A shard that fails makes the search a clear 503 (retry), not a 500. */
async function readShard(
  env: Env,
  shard: string,
  match: string,
  ids: readonly string[],
  below: number,
  limit: number,
  userId: string,
): Promise<ShardHit[]> {
  try {
    return await searchShard(shardDb(env, shard), match, ids, below, limit, userId);
  } catch (err) {
    log("error", "search_shard_failed", { shard, ...describeError(err) });
    throw new ApiError("unavailable", "Search is unavailable right now; try again", {
      retryAfterSeconds: 5,
    });
  }
}

interface Stream {
  shard: string;
  /** The position this page was read below. */
  below: number;
  /** At most limit + 1 hits, newest first. */
  hits: ShardHit[];
}

const newer = (a: ShardHit, b: ShardHit) =>
  a.createdAt === b.createdAt ? a.id > b.id : a.createdAt > b.createdAt;

/**
 * Takes `limit` hits across the streams, newest head first, and where each stream goes on: below
 * its last hit taken, or 0 when it has no more. No next cursor once every stream is spent.
 */
function merge(streams: readonly Stream[], limit: number): { taken: ShardHit[]; next: SearchCursor | null } {
  const heads = streams.map(() => 0);
  const taken: ShardHit[] = [];
  while (taken.length < limit) {
    let best = -1;
    streams.forEach((s, i) => {
      const hit = s.hits[heads[i] ?? 0];
      const current = best < 0 ? undefined : streams[best]?.hits[heads[best] ?? 0];
      if (hit && (!current || newer(hit, current))) best = i;
    });
    const stream = streams[best];
    const hit = stream?.hits[heads[best] ?? 0];
    if (!hit) break;
    taken.push(hit);
    heads[best] = (heads[best] ?? 0) + 1;
  }
  const next = new Map<string, number>();
  let more = false;
  streams.forEach((s, i) => {
    const used = heads[i] ?? 0;
    const remaining = s.hits.length > used;
    more ||= remaining;
    const last = s.hits[used - 1];
    next.set(s.shard, !remaining ? 0 : last ? last.rowid : s.below);
  });
  return { taken, next: more ? next : null };
}

/** The profiles of the senders, and of the quoted messages' senders. */
async function sendersOf(env: Env, hits: readonly ShardHit[]): Promise<Map<string, User>> {
  // A system message, or a quote of one, has no sender to look up.
  const ids = [
    ...new Set(hits.flatMap((h) => [h.senderId, h.replyTo?.senderId ?? null]).filter((id) => id !== null)),
  ];
  const users = await findUsersByIds(openDb(env.DB), ids);
  return new Map(users.map((u) => [u.id, u]));
}
