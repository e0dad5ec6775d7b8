CREATE TABLE `audit_text_index` (
	`id` integer PRIMARY KEY NOT NULL,
	`indexed_through` integer NOT NULL
);
--> statement-breakpoint
-- Text indexing leaves the per-row insert trigger: ingest stores entries, and indexAuditText (src/store/audit.ts) adds
-- every entry above indexed_through to audit_entries_fts in one INSERT … SELECT before each text search. Entries
-- indexed so far (all of them, by the old trigger) are marked as indexed.
DROP TRIGGER `audit_entries_fts_ai`;--> statement-breakpoint
INSERT INTO `audit_text_index` (`id`, `indexed_through`) VALUES (1, (SELECT coalesce(max(`id`), 0) FROM `audit_entries`));--> statement-breakpoint
-- Only entries the index holds may be removed from it (a 'delete' of text it never held corrupts FTS5). Deleting the
-- newest entries lowers the mark to the newest id left, because SQLite may hand their ids to the next inserts.
DROP TRIGGER `audit_entries_fts_ad`;--> statement-breakpoint
CREATE TRIGGER `audit_entries_fts_ad` AFTER DELETE ON `audit_entries` BEGIN
	INSERT INTO `audit_entries_fts` (`audit_entries_fts`, rowid, `event`, `session`, `service`, `raw`)
	SELECT 'delete', old.`id`, old.`event`, old.`session`, old.`service`, old.`raw`
	WHERE old.`id` <= (SELECT `indexed_through` FROM `audit_text_index` WHERE `id` = 1);
	UPDATE `audit_text_index` SET `indexed_through` = (SELECT coalesce(max(`id`), 0) FROM `audit_entries`)
	WHERE `id` = 1 AND `indexed_through` > (SELECT coalesce(max(`id`), 0) FROM `audit_entries`);
END;--> statement-breakpoint
DROP TRIGGER `audit_entries_fts_au`;--> statement-breakpoint
CREATE TRIGGER `audit_entries_fts_au` AFTER UPDATE OF `event`, `session`, `service`, `raw` ON `audit_entries`
WHEN old.`id` <= (SELECT `indexed_through` FROM `audit_text_index` WHERE `id` = 1) BEGIN
	INSERT INTO `audit_entries_fts` (`audit_entries_fts`, rowid, `event`, `session`, `service`, `raw`)
	VALUES ('delete', old.`id`, old.`event`, old.`session`, old.`service`, old.`raw`);
	INSERT INTO `audit_entries_fts` (rowid, `event`, `session`, `service`, `raw`)
	VALUES (new.`id`, new.`event`, new.`session`, new.`service`, new.`raw`);
END;
