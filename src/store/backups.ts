// Backup catalog: one row per backup of a CAS, from pending to completed or failed.
import { and, desc, eq } from "drizzle-orm";
import { StoreConflictError, StoreInputError, StoreNotFoundError } from "./errors.ts";
import { newId } from "./ids.ts";
import type { StoreDb } from "./open.ts";
import { clampLimit, equalities } from "./query.ts";
import { BACKUP_METHODS, type BackupFiles, type BackupMethod, type BackupPhase, backupCatalog } from "./schema.ts";

export type BackupRecord = typeof backupCatalog.$inferSelect;

export interface NewBackup {
  namespace: string;
  name: string;
  target: string;
  method?: BackupMethod;
  phase?: "pending" | "running";
  id?: string;
  startedAt?: number;
}

export function createBackup(db: StoreDb, input: NewBackup): BackupRecord {
  const method = input.method ?? "snapshot-copy";
  if (!(BACKUP_METHODS as readonly string[]).includes(method)) {
    throw new StoreInputError(
      "method",
      `backup method "${method}" is invalid: use one of ${BACKUP_METHODS.join(", ")}`,
    );
  }
  if (input.target.trim() === "") throw new StoreInputError("target", "backup target must be a directory or s3:// URL");
  const startedAt = input.startedAt ?? Date.now();
  return db
    .insert(backupCatalog)
    .values({
      id: input.id ?? newId("bk", startedAt),
      namespace: input.namespace,
      name: input.name,
      phase: input.phase ?? "pending",
      method,
      target: input.target,
      startedAt,
    })
    .returning()
    .get();
}

export function getBackup(db: StoreDb, id: string): BackupRecord | null {
  return db.select().from(backupCatalog).where(eq(backupCatalog.id, id)).get() ?? null;
}

export interface BackupUpdate {
  phase?: BackupPhase;
  stoppedAt?: number | null;
  sizeBytes?: number | null;
  files?: BackupFiles;
  snapshotMarker?: string | null;
  error?: string | null;
}

const NEXT_PHASES: Record<BackupPhase, readonly BackupPhase[]> = {
  pending: ["pending", "running", "failed"],
  running: ["running", "completed", "failed"],
  completed: ["completed"],
  failed: ["failed"],
};

/** Updates a backup; a completed or failed backup is final and only accepts updates that keep its phase. */
export function updateBackup(db: StoreDb, id: string, update: BackupUpdate): BackupRecord {
  const current = getBackup(db, id);
  if (!current) throw new StoreNotFoundError(`backup ${id} not found`);
  const phase = update.phase ?? current.phase;
  if (!NEXT_PHASES[current.phase].includes(phase)) {
    throw new StoreConflictError(`backup ${id} is ${current.phase}; it cannot become ${phase}`);
  }
  const final = phase === "completed" || phase === "failed";
  const values = {
    ...update,
    phase,
    // A finished backup always has a stop time, even if the caller forgot it.
    stoppedAt: update.stoppedAt ?? current.stoppedAt ?? (final ? Date.now() : null),
  };
  const row = db
    .update(backupCatalog)
    .set(values)
    .where(and(eq(backupCatalog.id, id), eq(backupCatalog.phase, current.phase)))
    .returning()
    .get();
  if (!row) throw new StoreConflictError(`backup ${id} changed while updating; read it again`);
  return row;
}

export interface ListBackupsQuery {
  namespace?: string;
  name?: string;
  phase?: BackupPhase;
  limit: number;
}

/** Newest first. */
export function listBackups(db: StoreDb, query: ListBackupsQuery): BackupRecord[] {
  const t = backupCatalog;
  const where = equalities([
    [t.namespace, query.namespace],
    [t.name, query.name],
    [t.phase, query.phase],
  ]);
  return db
    .select()
    .from(t)
    .where(and(...where))
    .orderBy(desc(t.startedAt), desc(t.id))
    .limit(clampLimit(query.limit))
    .all();
}

/** Newest completed backup of a CAS: the restore point and the source of a LastBackupSucceeded condition. */
export function lastCompletedBackup(db: StoreDb, cas: { namespace: string; name: string }): BackupRecord | null {
  return listBackups(db, { ...cas, phase: "completed", limit: 1 })[0] ?? null;
}

/** Removes a catalog row (the backup files themselves are the caller's business); false when absent. */
export function deleteBackup(db: StoreDb, id: string): boolean {
  return db.$client.query("DELETE FROM backup_catalog WHERE id = ?").run(id).changes > 0;
}

/** A completed backup as found in a target (its manifest), for the catalog cache. */
export type CatalogEntry = BackupRecord & { phase: "completed" };

export interface CatalogSync {
  added: string[];
  removed: string[];
}

/**
 * Makes the catalog agree with one target's listing, in one transaction: adds the completed sets it lacks, and
 * removes the completed rows that `inScope` says belong to the listed part of the target but that the listing no
 * longer holds (deleted elsewhere: another replica's retention, a person). Rows it already has are left as they
 * are (this machine's record of its own backups has the same fields, or more); other phases are never touched.
 * `listedAt`: when the listing began; a backup completed since then is missing from it, and is kept.
 */
export function syncCatalog(
  db: StoreDb,
  entries: readonly CatalogEntry[],
  inScope: (row: BackupRecord) => boolean,
  listedAt: number,
): CatalogSync {
  const sync: CatalogSync = { added: [], removed: [] };
  const listed = new Set(entries.map((e) => e.id));
  const tx = db.$client.transaction(() => {
    for (const entry of entries) {
      const row = db
        .insert(backupCatalog)
        .values(entry)
        .onConflictDoNothing()
        .returning({ id: backupCatalog.id })
        .get();
      if (row) sync.added.push(entry.id);
    }
    const completed = db.select().from(backupCatalog).where(eq(backupCatalog.phase, "completed")).all();
    for (const row of completed) {
      if (listed.has(row.id) || !inScope(row) || (row.stoppedAt ?? row.startedAt) >= listedAt) continue;
      deleteBackup(db, row.id);
      sync.removed.push(row.id);
    }
  });
  tx.immediate();
  return sync;
}
