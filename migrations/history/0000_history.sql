-- Hand-edited after drizzle-kit: IF NOT EXISTS, because the first shard of a deployment from before
-- sharding is the directory database itself, which has `messages` already (migrations/0000_init.sql,
-- with the same columns). There the unique index on clientId goes: the room deduplicates clientIds
-- in its own log, and the index cost a row written per message and could refuse a message the room
-- numbered (a clientId reused after it left the room's tail).
CREATE TABLE IF NOT EXISTS `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`seq` integer NOT NULL,
	`sender_id` text NOT NULL,
	`body` text NOT NULL,
	`client_id` text,
	`created_at` text NOT NULL,
	`edited_at` text,
	`deleted_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS `messages_conversation_seq_unique` ON `messages` (`conversation_id`,`seq`);--> statement-breakpoint
DROP INDEX IF EXISTS `messages_client_id_unique`;--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `read_positions` (
	`conversation_id` text NOT NULL,
	`user_id` text NOT NULL,
	`last_read_seq` integer NOT NULL,
	PRIMARY KEY(`conversation_id`, `user_id`)
);
