/**
 * Where a conversation's history lives. HISTORY_SHARDS names every shard's D1 binding
 * (wrangler.toml), in placement order: a new conversation is placed on one of them by a hash of its
 * id, and the name is recorded (the room's meta, the directory's `conversations.shard`), so
 * placement never moves a conversation: shards can be added at the end, and one that is full is
 * closed (HISTORY_SHARDS_CLOSED): it takes no new conversations, serves the ones it has, and is
 * still pruned by retention.
 *
 * Conversations from before sharding record no name; their messages are in the directory database,
 * which the binding HISTORY_0 reaches as a shard (README, "Scaling"). Their rooms record that name
 * when they wake.
 */

/** The shard wrangler.toml declares by default, and the one of conversations from before sharding. */
export const DEFAULT_SHARD = "HISTORY_0";

/**
 * The table of applied history migrations (wrangler.toml's `migrations_table` of every shard): not
 * D1's default, so a shard that is the directory database too keeps the two roles' lists apart.
 */
export const HISTORY_MIGRATIONS_TABLE = "d1_history_migrations";

/** The shards new conversations may go to: all but the closed ones (all of them if every one is closed). */
export function openShards(shards: readonly string[], closed: readonly string[]): readonly string[] {
  const open = shards.filter((name) => !closed.includes(name));
  return open.length > 0 ? open : shards;
}

/** HISTORY_SHARDS as binding names, in order; never empty. */
export function shardNames(value: string | undefined): readonly string[] {
  const names = (value ?? "").split(/[\s,]+/).filter(Boolean);
  return names.length > 0 ? names : [DEFAULT_SHARD];
}

/**
 * The shard of a new conversation: FNV-1a of its id over the shards. A hash rather than a random
 * pick, so the same id lands on the same shard wherever it is computed (a direct conversation's id
 * is derived from its pair).
 */
export function placeConversation(conversationId: string, shards: readonly string[]): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < conversationId.length; i++) {
    hash ^= conversationId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return shards[hash % shards.length] ?? DEFAULT_SHARD;
}

/** The shard of a conversation from before sharding (no recorded name): the directory database. */
export const LEGACY_SHARD = DEFAULT_SHARD;

const isD1 = (value: unknown): value is D1Database =>
  typeof value === "object" &&
  value !== null &&
  typeof Reflect.get(value, "prepare") === "function" &&
  typeof Reflect.get(value, "batch") === "function";

/**
 * The D1 binding of a shard by its name. A name that is not bound (a typo, a binding removed while
 * conversations still record it) throws: the outbox keeps the rows and retries, nothing is lost.
 */
export function shardDb(env: object, name: string): D1Database {
  const binding: unknown = Reflect.get(env, name);
  if (!isD1(binding)) throw new Error(`history shard ${name} is not a D1 binding`);
  return binding;
}

/** The history shards as a reader of several conversations sees them. */
export interface ShardAccess {
  db(name: string): D1Database;
  /** The shard of conversations that record none (from before sharding). */
  legacy: string;
}

export function shardAccess(env: Env): ShardAccess {
  return { db: (name) => shardDb(env, name), legacy: LEGACY_SHARD };
}
