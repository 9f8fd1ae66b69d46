CREATE TABLE `reactions` (
	`conversation_id` text NOT NULL,
	`seq` integer NOT NULL,
	`emoji` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`conversation_id`, `seq`, `emoji`, `user_id`)
);
--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_to_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_quote` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `reactions` text;