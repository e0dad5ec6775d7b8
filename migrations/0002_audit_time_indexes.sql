DROP INDEX `audit_entries_cas_ts_idx`;--> statement-breakpoint
DROP INDEX `audit_entries_cas_event_idx`;--> statement-breakpoint
CREATE INDEX `audit_entries_cas_time_idx` ON `audit_entries` (`namespace`,`name`,`ts`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_entries_cas_event_time_idx` ON `audit_entries` (`namespace`,`name`,`event`,`ts`,`seq`);