-- Hand-edited after drizzle-kit: `messages` left the directory's schema (src/db/schema.ts) for the
-- history shards' (src/db/history-schema.ts), so drizzle-kit wrote `DROP TABLE messages` here. It is
-- kept: in a deployment from before sharding this table holds the history of the first shard, which
-- is this same database reached through its own binding and migrations (migrations/history/); in a
-- new deployment it stays empty.
ALTER TABLE `conversations` ADD `shard` text;
