-- Hand-edited after drizzle-kit: D1 ignores foreign_keys=OFF (drizzle-kit's default for a table
-- rebuild), so the checks are deferred to the end of the migration's transaction instead, which lets
-- `users` be rebuilt under the rows that point at it; and the copy selected the two new columns from
-- the old table, where they do not exist yet (they start NULL).
PRAGMA defer_foreign_keys = on;--> statement-breakpoint
CREATE TABLE `__new_users` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text,
	`password_hash` text,
	`first_name` text NOT NULL,
	`last_name` text NOT NULL,
	`avatar_url` text,
	`created_at` text NOT NULL,
	`name_key` text DEFAULT '' NOT NULL,
	`name_key_reversed` text DEFAULT '' NOT NULL,
	`external_id` text,
	`claims_hash` text
);
--> statement-breakpoint
INSERT INTO `__new_users`("id", "email", "password_hash", "first_name", "last_name", "avatar_url", "created_at", "name_key", "name_key_reversed", "external_id", "claims_hash") SELECT "id", "email", "password_hash", "first_name", "last_name", "avatar_url", "created_at", "name_key", "name_key_reversed", NULL, NULL FROM `users`;--> statement-breakpoint
DROP TABLE `users`;--> statement-breakpoint
ALTER TABLE `__new_users` RENAME TO `users`;--> statement-breakpoint
PRAGMA defer_foreign_keys = off;--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`) WHERE "users"."external_id" IS NULL;--> statement-breakpoint
CREATE INDEX `users_email_idx` ON `users` (`email`,`external_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_external_id_unique` ON `users` (`external_id`);--> statement-breakpoint
CREATE INDEX `users_name_key_idx` ON `users` (`name_key`,`id`);--> statement-breakpoint
CREATE INDEX `users_name_key_reversed_idx` ON `users` (`name_key_reversed`,`id`);