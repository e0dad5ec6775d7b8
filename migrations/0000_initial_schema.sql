CREATE TABLE `api_audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`token_name` text NOT NULL,
	`method` text NOT NULL,
	`path` text NOT NULL,
	`status` integer NOT NULL,
	`operation_id` text
);
--> statement-breakpoint
CREATE INDEX `api_audit_at_idx` ON `api_audit` (`at`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scope` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_name_unique` ON `api_tokens` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_token_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `audit_entries` (
	`id` integer PRIMARY KEY NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`seq` integer NOT NULL,
	`ts` integer NOT NULL,
	`event` text NOT NULL,
	`session` text,
	`service` text,
	`raw` text NOT NULL,
	`signature` text NOT NULL,
	`prev_signature` text NOT NULL,
	`chain_ok` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_entries_cas_seq_uq` ON `audit_entries` (`namespace`,`name`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_entries_cas_ts_idx` ON `audit_entries` (`namespace`,`name`,`ts`);--> statement-breakpoint
CREATE INDEX `audit_entries_cas_event_idx` ON `audit_entries` (`namespace`,`name`,`event`,`seq`);--> statement-breakpoint
CREATE TABLE `backup_catalog` (
	`id` text PRIMARY KEY NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`phase` text NOT NULL,
	`method` text NOT NULL,
	`target` text NOT NULL,
	`started_at` integer NOT NULL,
	`stopped_at` integer,
	`size_bytes` integer,
	`files` text DEFAULT '{}' NOT NULL,
	`snapshot_marker` text,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `backup_catalog_cas_idx` ON `backup_catalog` (`namespace`,`name`,`started_at`);--> statement-breakpoint
CREATE TABLE `operations` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`params` text DEFAULT '{}' NOT NULL,
	`phase` text NOT NULL,
	`current_step` text,
	`steps_done` text DEFAULT '[]' NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`error` text,
	`result` text
);
--> statement-breakpoint
CREATE INDEX `operations_phase_idx` ON `operations` (`phase`);--> statement-breakpoint
CREATE INDEX `operations_target_idx` ON `operations` (`namespace`,`name`,`created_at`);--> statement-breakpoint
CREATE TABLE `reconcile_history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`generation` integer NOT NULL,
	`resource_version` text,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`result` text NOT NULL,
	`actions` text DEFAULT '[]' NOT NULL,
	`error` text,
	`trigger` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `reconcile_history_object_idx` ON `reconcile_history` (`kind`,`namespace`,`name`,`started_at`);--> statement-breakpoint
CREATE INDEX `reconcile_history_started_at_idx` ON `reconcile_history` (`started_at`);