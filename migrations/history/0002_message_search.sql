-- Full-text search of message bodies (README, "Search"). Written by hand (drizzle-kit has no
-- virtual tables or triggers; `drizzle-kit generate --custom` made the journal entry).
--
-- An external-content FTS5 table over `messages`: it stores only the index, keyed by the message
-- row's rowid, and reads bodies from `messages` for snippets. It indexes two columns: `body`, and
-- `conversation_id` (tokenized as "c" and the id's 20 characters, so a query can keep to a few
-- conversations inside the index). columnsize=0: no per-row size table (no ranking by bm25 is
-- done; results come newest first), one row fewer written per message.
--
-- The triggers keep it in the same transaction as the copy: the outbox's upsert inserts (indexed)
-- or updates (an edit or a delete, which stores body "": the old text leaves the index), and the
-- retention job's delete removes. An update that does not change the body (a batch sent again)
-- does not touch the index, so a retried batch indexes nothing twice.
CREATE VIRTUAL TABLE `message_search` USING fts5(
	body, conversation_id,
	content='messages', content_rowid='rowid', columnsize=0,
	tokenize='unicode61 remove_diacritics 2'
);
--> statement-breakpoint
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
-- Messages already in the shard (a deployment from before search): indexed once, here.
INSERT INTO message_search (message_search) VALUES ('rebuild');
