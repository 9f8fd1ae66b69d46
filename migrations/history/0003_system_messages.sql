-- Hand-edited after drizzle-kit, as the directory's 0002: D1 ignores foreign_keys=OFF, so checks are
-- deferred to the end of the migration's transaction instead. sender_id becomes nullable: a system
-- message (server API, no sender) has none. On the first shard of a deployment from before
-- sharding (the directory database itself) the rebuilt table also drops the old foreign key from
-- sender_id to users, which the history schema never had.
PRAGMA defer_foreign_keys = on;--> statement-breakpoint
CREATE TABLE `__new_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`seq` integer NOT NULL,
	`sender_id` text,
	`body` text NOT NULL,
	`client_id` text,
	`created_at` text NOT NULL,
	`edited_at` text,
	`deleted_at` text,
	`reply_to_id` text,
	`reply_quote` text,
	`reactions` text
);
--> statement-breakpoint
INSERT INTO `__new_messages`("id", "conversation_id", "seq", "sender_id", "body", "client_id", "created_at", "edited_at", "deleted_at", "reply_to_id", "reply_quote", "reactions") SELECT "id", "conversation_id", "seq", "sender_id", "body", "client_id", "created_at", "edited_at", "deleted_at", "reply_to_id", "reply_quote", "reactions" FROM `messages`;--> statement-breakpoint
DROP TABLE `messages`;--> statement-breakpoint
ALTER TABLE `__new_messages` RENAME TO `messages`;--> statement-breakpoint
PRAGMA defer_foreign_keys = off;--> statement-breakpoint
CREATE UNIQUE INDEX `messages_conversation_seq_unique` ON `messages` (`conversation_id`,`seq`);--> statement-breakpoint
-- Rebuilding `messages` dropped the search index's triggers (0002_message_search) and gave the rows
-- new rowids, which the external-content index is keyed by: the triggers are created again and the
-- index rebuilt from the new rows.
CREATE TRIGGER `message_search_insert` AFTER INSERT ON `messages` BEGIN
	INSERT INTO message_search (rowid, body, conversation_id) VALUES (new.rowid, new.body, new.conversation_id);
END;
--> statement-breakpoint
CREATE TRIGGER `message_search_update` AFTER UPDATE OF body ON `messages` WHEN old.body IS NOT new.body BEGIN
	INSERT INTO message_search (message_search, rowid, body, conversation_id)
	VALUES ('delete', old.rowid, old.body, old.conversation_id);
	INSERT INTO message_search (rowid, body, conversation_id) VALUES (new.rowid, new.body, new.conversation_id);
END;
--> statement-breakpoint
CREATE TRIGGER `message_search_delete` AFTER DELETE ON `messages` BEGIN
	INSERT INTO message_search (message_search, rowid, body, conversation_id)
	VALUES ('delete', old.rowid, old.body, old.conversation_id);
END;
--> statement-breakpoint
INSERT INTO message_search (message_search) VALUES ('rebuild');
