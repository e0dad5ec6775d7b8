// Retention: which backups to delete (pure), and an executor that deletes them from their targets and then from
// the catalog. Per CAS, a backup is kept when ANY rule keeps it:
//   - the newest completed backup (the restore point) — always, however old
//   - keepLast N: the N newest completed backups
//   - keepDays D: every backup that finished within the last D days
//   - a failed backup newer than the newest completed one (evidence of the current failure streak)
//   - pending and running backups (never touched here)
import { type BackupRecord, deleteBackup, listBackups, syncCatalog, updateBackup } from "../store/backups.ts";
import type { StoreDb } from "../store/open.ts";
import { rebuildCatalog, rowOfTarget } from "./catalog.ts";
import { BackupInputError, messageOf } from "./errors.ts";
import { setKey } from "./layout.ts";
import { listTargetBackups } from "./list.ts";
import { type OpenTargetOptions, openSetAt } from "./open-target.ts";
import { type BackupTarget, removeSet } from "./target.ts";

export interface RetentionPolicy {
  /** Keep backups that finished within this many days (the Scone resource's spec.backup.retention). */
  keepDays?: number;
  /** Keep this many newest completed backups. */
  keepLast?: number;
}

export interface RetentionDecision {
  record: BackupRecord;
  reason: string;
}

export interface RetentionPlan {
  keep: RetentionDecision[];
  remove: RetentionDecision[];
}

const DAY_MS = 86_400_000;

export function checkRetentionPolicy(policy: RetentionPolicy): void {
  const { keepDays, keepLast } = policy;
  if (keepDays === undefined && keepLast === undefined) {
    throw new BackupInputError("retention", "retention needs keepDays or keepLast (or both)");
  }
  if (keepDays !== undefined && !(Number.isFinite(keepDays) && keepDays > 0)) {
    throw new BackupInputError("keepDays", `keepDays must be a positive number of days, not ${keepDays}`);
  }
  if (keepLast !== undefined && !(Number.isSafeInteger(keepLast) && keepLast >= 1)) {
    throw new BackupInputError("keepLast", `keepLast must be a whole number of at least 1, not ${keepLast}`);
  }
}

function finishedAt(record: BackupRecord): number {
  return record.stoppedAt ?? record.startedAt;
}

const newestFirst = (a: BackupRecord, b: BackupRecord) => b.startedAt - a.startedAt || b.id.localeCompare(a.id);

/** Pure: splits the catalog into backups to keep and to remove, each with the reason. */
export function applyRetention(catalog: readonly BackupRecord[], policy: RetentionPolicy, now: number): RetentionPlan {
  checkRetentionPolicy(policy);
  const plan: RetentionPlan = { keep: [], remove: [] };
  const byCas = new Map<string, BackupRecord[]>();
  for (const record of catalog) {
    const key = `${record.namespace}/${record.name}`;
    byCas.set(key, [...(byCas.get(key) ?? []), record]);
  }
  const withinDays = (r: BackupRecord) =>
    policy.keepDays !== undefined && now - finishedAt(r) <= policy.keepDays * DAY_MS;
  for (const records of byCas.values()) {
    const sorted = [...records].sort(newestFirst);
    const completed = sorted.filter((r) => r.phase === "completed");
    const newestCompleted = completed[0];
    for (const record of sorted) {
      if (record.phase === "pending" || record.phase === "running") {
        plan.keep.push({ record, reason: `${record.phase}` });
      } else if (record.phase === "completed") {
        const rank = completed.indexOf(record);
        if (rank === 0) plan.keep.push({ record, reason: "newest completed backup (restore point)" });
        else if (policy.keepLast !== undefined && rank < policy.keepLast) {
          plan.keep.push({ record, reason: `among the ${policy.keepLast} newest completed` });
        } else if (withinDays(record)) plan.keep.push({ record, reason: `within ${policy.keepDays} days` });
        else plan.remove.push({ record, reason: expiry(policy) });
      } else if (!newestCompleted || record.startedAt > newestCompleted.startedAt) {
        plan.keep.push({ record, reason: "failed after the newest completed backup" });
      } else if (withinDays(record)) {
        plan.keep.push({ record, reason: `within ${policy.keepDays} days` });
      } else {
        plan.remove.push({ record, reason: `failed, ${expiry(policy)}` });
      }
    }
  }
  return plan;
}

function expiry(policy: RetentionPolicy): string {
  const rules = [
    policy.keepLast !== undefined ? `not among the ${policy.keepLast} newest` : undefined,
    policy.keepDays !== undefined ? `older than ${policy.keepDays} days` : undefined,
  ].filter((r) => r !== undefined);
  return rules.join(" and ");
}

export interface RetentionResult {
  deleted: string[];
  failed: { id: string; error: string }[];
}

export interface ExecuteRetentionOptions {
  store: { db: StoreDb };
  /** How to open the rows' locations (S3 credentials; default: from the environment). */
  open?: OpenTargetOptions;
}

/**
 * Deletes each backup's files (manifest first) and then its catalog row. A backup whose files cannot be deleted
 * keeps its row, with the reason in `error`, so the next run retries it and `backups` shows why it is still there.
 */
export async function executeRetention(
  remove: readonly RetentionDecision[],
  options: ExecuteRetentionOptions,
): Promise<RetentionResult> {
  const result: RetentionResult = { deleted: [], failed: [] };
  for (const { record } of remove) {
    try {
      const { target, set } = openSetAt(record.target, options.open);
      // A row's location ends in its own id (runBackup writes it so): anything else is not this backup's set.
      if (set !== record.id) throw new BackupInputError("target", `${record.target} is not the set of ${record.id}`);
      await removeSet(target, set);
      deleteBackup(options.store.db, record.id);
      result.deleted.push(record.id);
    } catch (error) {
      const message = `retention could not delete the backup files: ${messageOf(error)}`;
      result.failed.push({ id: record.id, error: message });
      try {
        updateBackup(options.store.db, record.id, { error: message });
      } catch {
        // The row changed meanwhile (or is gone); nothing to mark.
      }
    }
  }
  return result;
}

export interface TargetRetentionOptions {
  /** The target the CAS's backups are written to (its root). */
  target: BackupTarget;
  cas: { namespace: string; name: string };
  policy: RetentionPolicy;
  now: number;
  /** The catalog cache: brought in line with the listing, and the source of the failed attempts (no set). */
  store: { db: StoreDb };
}

export interface TargetRetentionResult extends RetentionResult {
  plan: RetentionPlan;
}

/**
 * Retention decided from what the target holds, not from the cache: the CAS's sets are listed and their
 * manifests parsed (a fresh store, a second replica, a restarted pod decide alike). Only a whole set whose
 * manifest parsed and names this CAS at this path is removed; incomplete sets, foreign objects and other CAS's
 * sets are never candidates. Failed attempts (catalog rows only; their partial files were removed when they
 * failed) count as before.
 */
export async function applyTargetRetention(options: TargetRetentionOptions): Promise<TargetRetentionResult> {
  const { target, cas, policy, now, store } = options;
  checkRetentionPolicy(policy);
  const listedAt = Date.now();
  const listed = rebuildCatalog(await listTargetBackups(target, cas), listedAt).entries;
  syncCatalog(store.db, listed, rowOfTarget(target, cas), listedAt);
  const listedIds = new Set(listed.map((r) => r.id));
  const attempts = listBackups(store.db, { ...cas, limit: 1000 }).filter(
    (r) => r.phase !== "completed" && !listedIds.has(r.id),
  );
  const plan = applyRetention([...listed, ...attempts], policy, now);
  const result: TargetRetentionResult = { plan, deleted: [], failed: [] };
  for (const { record } of plan.remove) {
    try {
      // A failed attempt is a catalog row only: its partial files went when it failed (or with the next backup),
      // and nothing without a parsed manifest is deleted here.
      if (listedIds.has(record.id))
        await removeSet(target, setKey({ namespace: record.namespace, name: record.name, id: record.id }));
      deleteBackup(store.db, record.id);
      result.deleted.push(record.id);
    } catch (error) {
      result.failed.push({ id: record.id, error: `retention could not delete the backup files: ${messageOf(error)}` });
    }
  }
  return result;
}
