DROP INDEX `users_first_name_idx`;--> statement-breakpoint
DROP INDEX `users_last_name_idx`;--> statement-breakpoint
ALTER TABLE `users` ADD `name_key` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `name_key_reversed` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `users_name_key_idx` ON `users` (`name_key`,`id`);--> statement-breakpoint
CREATE INDEX `users_name_key_reversed_idx` ON `users` (`name_key_reversed`,`id`);--> statement-breakpoint
-- Backfill for the people search (src/db/search-key.ts folds names the same way for ASCII text:
-- lower-cased, runs of spaces collapsed). SQLite's lower() folds ASCII letters only: a name with
-- non-ASCII capitals stored before this migration keeps them in its key until the profile is saved.
UPDATE `users` SET
	`name_key` = lower(replace(replace(replace(trim(`first_name` || ' ' || `last_name`), '  ', ' '), '  ', ' '), '  ', ' ')),
	`name_key_reversed` = lower(replace(replace(replace(trim(`last_name` || ' ' || `first_name`), '  ', ' '), '  ', ' '), '  ', ' '))
WHERE `name_key` = '' OR `name_key_reversed` = '';
