// runBackup: one backup of one CAS, recorded in the catalog from running to completed or failed.
//   1. reserve (one SQLite write transaction): plan against the catalog, give up abandoned backups, insert `running`
//   2. fetch the snapshot into a private temp dir, hash both files
//   3. write the data files to the target, read them back and compare hashes
//   4. write backup.json LAST: until then the set is visibly incomplete
//   5. mark the row completed (files, size, snapshot marker)
// A crash anywhere leaves a `running` row and no manifest; the next run past the stale age marks it failed and
// removes its partial files.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BackupRecord, createBackup, getBackup, listBackups, updateBackup } from "../store/backups.ts";
import { newId } from "../store/ids.ts";
import type { StoreDb } from "../store/open.ts";
import { SCONE_VERSION } from "../version.ts";
import { BackupInProgressError, BackupNotPossibleError, BackupTargetError, messageOf } from "./errors.ts";
import { joinKey, MANIFEST_FILE, SNAPSHOT_FILES, setKey } from "./layout.ts";
import {
  type BackupManifest,
  describeFiles,
  MANIFEST_FORMAT,
  serializeManifest,
  sha256Hex,
  totalSize,
} from "./manifest.ts";
import { abandonedReason, type BackupSubject, planBackup } from "./plan.ts";
import type { SnapshotSource } from "./snapshot-source.ts";
import { type BackupTarget, removeSet } from "./target.ts";

export interface RunBackupOptions {
  cas: BackupSubject;
  source: SnapshotSource;
  /** The target's root; the set goes to <root>/<namespace>/<name>/<id>/. */
  target: BackupTarget;
  store: { db: StoreDb };
  /** Clock (ms since epoch); injected by tests. */
  now?: () => number;
  /** Default: a new time-sortable "bk-…" id. */
  id?: string;
  staleAfterMs?: number;
  /** Parent of the private working directory (default: the OS temp dir). */
  tempDir?: string;
}

/** Pending and running rows of one CAS (few: backups are serialized). */
function activeBackups(db: StoreDb, cas: BackupSubject): BackupRecord[] {
  const query = { namespace: cas.namespace, name: cas.name, limit: 1000 };
  return [...listBackups(db, { ...query, phase: "running" }), ...listBackups(db, { ...query, phase: "pending" })];
}

/** Step 1, atomic across processes sharing the state database (BEGIN IMMEDIATE). */
function reserve(options: RunBackupOptions, now: number): { record: BackupRecord; abandoned: BackupRecord[] } {
  const { db } = options.store;
  const id = options.id ?? newId("bk", now);
  const set = setKey({ namespace: options.cas.namespace, name: options.cas.name, id });
  const reserveTx = db.$client.transaction(() => {
    const plan = planBackup(options.cas, activeBackups(db, options.cas), {
      now,
      ...(options.staleAfterMs !== undefined ? { staleAfterMs: options.staleAfterMs } : {}),
    });
    if (plan.action === "refuse") throw new BackupNotPossibleError(plan.reason);
    if (plan.action === "wait") throw new BackupInProgressError(plan.running.id, plan.reason);
    for (const old of plan.abandon) {
      updateBackup(db, old.id, { phase: "failed", stoppedAt: now, error: abandonedReason(old, now) });
    }
    const record = createBackup(db, {
      id,
      namespace: options.cas.namespace,
      name: options.cas.name,
      phase: "running",
      method: "snapshot-copy",
      target: options.target.locationOf(set),
      startedAt: now,
    });
    return { record, abandoned: plan.abandon };
  });
  return reserveTx.immediate();
}

/** Removes what abandoned backups left in this target (best effort: a later retention run retries). */
async function cleanAbandoned(target: BackupTarget, abandoned: readonly BackupRecord[]): Promise<void> {
  for (const old of abandoned) {
    const set = setKey({ namespace: old.namespace, name: old.name, id: old.id });
    if (target.locationOf(set) !== old.target) continue;
    await removeSet(target, set).catch(() => {});
  }
}

/**
 * Runs one backup and returns its catalog record: `completed`, or `failed` with the reason in `error`.
 * Throws (recording nothing) when the backup may not start: BackupInProgressError, BackupNotPossibleError.
 */
export async function runBackup(options: RunBackupOptions): Promise<BackupRecord> {
  const clock = options.now ?? Date.now;
  const { db } = options.store;
  const { target, cas } = options;
  const { record, abandoned } = reserve(options, clock());
  await cleanAbandoned(target, abandoned);
  const set = setKey({ namespace: cas.namespace, name: cas.name, id: record.id });
  const work = await mkdtemp(join(options.tempDir ?? tmpdir(), "scone-backup-"));
  try {
    const snapshot = await options.source.fetch(work);
    const files: Record<string, Uint8Array> = {};
    for (const name of SNAPSHOT_FILES) files[name] = new Uint8Array(await readFile(join(work, name)));
    const described = describeFiles(files);

    for (const name of SNAPSHOT_FILES) await target.put(joinKey(set, name), files[name] as Uint8Array);
    // Read back before the manifest vouches for them: a target that stores something else must not end up with
    // a manifest.
    for (const name of SNAPSHOT_FILES) {
      const stored = await target.get(joinKey(set, name));
      const expected = described[name];
      if (stored === null || !expected || sha256Hex(stored) !== expected.sha256) {
        throw new BackupTargetError(
          `${target.locationOf(joinKey(set, name))} reads back different from what was written`,
        );
      }
    }
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      id: record.id,
      cas: { namespace: cas.namespace, name: cas.name, version: cas.version ?? null },
      snapshot: { marker: snapshot.marker, timestamp: snapshot.timestamp },
      created: new Date(clock()).toISOString(),
      started: new Date(record.startedAt).toISOString(),
      scone: { version: SCONE_VERSION },
      files: described,
    };
    await target.put(joinKey(set, MANIFEST_FILE), new TextEncoder().encode(serializeManifest(manifest)));
    return updateBackup(db, record.id, {
      phase: "completed",
      stoppedAt: clock(),
      files: described,
      sizeBytes: totalSize(described),
      snapshotMarker: snapshot.marker ?? snapshot.timestamp,
      error: null,
    });
  } catch (error) {
    // No manifest was written (it is the last step, and atomic), so the partial set is never a backup; remove it.
    await removeSet(target, set).catch(() => {});
    const current = getBackup(db, record.id);
    if (current && current.phase !== "running") return current;
    return updateBackup(db, record.id, { phase: "failed", stoppedAt: clock(), error: messageOf(error) });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
