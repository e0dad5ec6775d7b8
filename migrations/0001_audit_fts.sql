-- Full-text index for `scone cas audit --search` over the CAS audit-log index (drizzle-kit cannot express FTS5).
-- External-content table: the text lives once, in audit_entries; the index refers to audit_entries.id (rowid).
-- unicode61 splits on punctuation, so a quoted search phrase like "session_created" matches the token pair.
CREATE VIRTUAL TABLE `audit_entries_fts` USING fts5(
	`event`, `session`, `service`, `raw`,
	content = 'audit_entries', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `audit_entries_fts_ai` AFTER INSERT ON `audit_entries` BEGIN
	INSERT INTO `audit_entries_fts` (rowid, `event`, `session`, `service`, `raw`)
	VALUES (new.`id`, new.`event`, new.`session`, new.`service`, new.`raw`);
END;
--> statement-breakpoint
CREATE TRIGGER `audit_entries_fts_ad` AFTER DELETE ON `audit_entries` BEGIN
	INSERT INTO `audit_entries_fts` (`audit_entries_fts`, rowid, `event`, `session`, `service`, `raw`)
	VALUES ('delete', old.`id`, old.`event`, old.`session`, old.`service`, old.`raw`);
END;
--> statement-breakpoint
CREATE TRIGGER `audit_entries_fts_au` AFTER UPDATE ON `audit_entries` BEGIN
	INSERT INTO `audit_entries_fts` (`audit_entries_fts`, rowid, `event`, `session`, `service`, `raw`)
	VALUES ('delete', old.`id`, old.`event`, old.`session`, old.`service`, old.`raw`);
	INSERT INTO `audit_entries_fts` (rowid, `event`, `session`, `service`, `raw`)
	VALUES (new.`id`, new.`event`, new.`session`, new.`service`, new.`raw`);
END;
--> statement-breakpoint
-- Entries ingested before this migration become searchable too.
INSERT INTO `audit_entries_fts` (`audit_entries_fts`) VALUES ('rebuild');
