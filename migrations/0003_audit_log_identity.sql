-- Audit entries are keyed by log as well as seq: a new CAS pod starts a new audit log at seq 0 (its audit volume is an
-- emptyDir), and its entries were refused as conflicts with the old log's. Entries indexed before this migration
-- belong to one log per CAS (conflicting ones were never indexed): that log is named by its first indexed entry.
--
-- The FTS update trigger fires only for the columns it indexes, so this backfill (and any later bookkeeping update)
-- does not rewrite the full-text index.
DROP TRIGGER `audit_entries_fts_au`;--> statement-breakpoint
CREATE TRIGGER `audit_entries_fts_au` AFTER UPDATE OF `event`, `session`, `service`, `raw` ON `audit_entries` BEGIN
	INSERT INTO `audit_entries_fts` (`audit_entries_fts`, rowid, `event`, `session`, `service`, `raw`)
	VALUES ('delete', old.`id`, old.`event`, old.`session`, old.`service`, old.`raw`);
	INSERT INTO `audit_entries_fts` (rowid, `event`, `session`, `service`, `raw`)
	VALUES (new.`id`, new.`event`, new.`session`, new.`service`, new.`raw`);
END;--> statement-breakpoint
ALTER TABLE `audit_entries` ADD `log` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `audit_entries` SET `log` = (
	SELECT f.`signature` FROM `audit_entries` f
	WHERE f.`namespace` = `audit_entries`.`namespace` AND f.`name` = `audit_entries`.`name`
	ORDER BY f.`seq` LIMIT 1
);--> statement-breakpoint
DROP INDEX `audit_entries_cas_seq_uq`;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_entries_cas_seq_log_uq` ON `audit_entries` (`namespace`,`name`,`seq`,`log`);
