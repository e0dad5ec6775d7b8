// The backup catalog as a cache of the targets: every backup set describes itself (backup.json), so the catalog
// rows of a target can be rebuilt from its listing alone — on a fresh laptop, a second replica, after a pod
// restart. Pure: which listed sets become which rows; refreshCatalog is the thin I/O shell.
import { type CatalogEntry, type CatalogSync, syncCatalog } from "../store/backups.ts";
import type { StoreDb } from "../store/open.ts";
import { setKey } from "./layout.ts";
import { listTargetBackups, type TargetBackup } from "./list.ts";
import { totalSize } from "./manifest.ts";
import type { BackupTarget } from "./target.ts";

export interface CatalogRebuild {
  /** One completed row per set whose manifest parsed and names the set's own CAS and id; newest first. */
  entries: CatalogEntry[];
  /** Sets that are no catalog row, with the reason (incomplete upload, a manifest naming another set). */
  skipped: { location: string; reason: string }[];
  /** When the listing began (ms): a backup completed later may be missing from it. */
  listedAt: number;
}

/** The set's key, or why it is not a valid one. */
function keyOf(set: TargetBackup): string | undefined {
  try {
    return setKey({ namespace: set.namespace, name: set.name, id: set.id });
  } catch {
    return undefined;
  }
}

/** Why a listed set is not a restorable backup of the CAS its path names, or undefined when it is one. */
export function notACatalogEntry(set: TargetBackup): string | undefined {
  const m = set.manifest;
  if (!m) return "no readable backup.json (incomplete or interrupted backup)";
  if (keyOf(set) === undefined) return "its path is not <namespace>/<cas>/<id> with valid names";
  // A manifest copied under another path would otherwise show (and let retention delete) one CAS's backup as
  // another's.
  if (m.cas.namespace !== set.namespace || m.cas.name !== set.name || m.id !== set.id) {
    return `backup.json describes ${m.cas.namespace}/${m.cas.name}/${m.id}, not the set at this path`;
  }
  return undefined;
}

/** Pure: the catalog rows of a target's listing. */
export function rebuildCatalog(sets: readonly TargetBackup[], listedAt: number): CatalogRebuild {
  const out: CatalogRebuild = { entries: [], skipped: [], listedAt };
  for (const set of sets) {
    const reason = notACatalogEntry(set);
    const m = set.manifest;
    if (reason !== undefined || !m) {
      out.skipped.push({ location: set.location, reason: reason ?? "no manifest" });
      continue;
    }
    const stoppedAt = Date.parse(m.created);
    out.entries.push({
      id: m.id,
      namespace: m.cas.namespace,
      name: m.cas.name,
      phase: "completed",
      method: "snapshot-copy",
      target: set.location,
      startedAt: m.started !== undefined ? Date.parse(m.started) : stoppedAt,
      stoppedAt,
      sizeBytes: totalSize(m.files),
      files: m.files,
      snapshotMarker: m.snapshot.marker ?? m.snapshot.timestamp,
      error: null,
    });
  }
  out.entries.sort((a, b) => b.startedAt - a.startedAt || b.id.localeCompare(a.id));
  return out;
}

export interface CasFilter {
  namespace?: string;
  name?: string;
}

/** True when a catalog row is the set `target` would hold at its path, within the filter. */
export function rowOfTarget(target: BackupTarget, filter: CasFilter) {
  return (row: { namespace: string; name: string; id: string; target: string }): boolean => {
    if (filter.namespace !== undefined && row.namespace !== filter.namespace) return false;
    if (filter.name !== undefined && row.name !== filter.name) return false;
    try {
      return target.locationOf(setKey({ namespace: row.namespace, name: row.name, id: row.id })) === row.target;
    } catch {
      return false;
    }
  };
}

export interface CatalogRefresh extends CatalogRebuild, CatalogSync {}

/** Lists `target` below the filter and rebuilds its catalog rows (no store involved). */
export async function readCatalogOf(target: BackupTarget, filter: CasFilter = {}): Promise<CatalogRebuild> {
  const listedAt = Date.now();
  return rebuildCatalog(await listTargetBackups(target, filter), listedAt);
}

/** Makes the catalog agree with a rebuilt listing of `target`: one transaction. */
export function storeCatalogOf(
  db: StoreDb,
  target: BackupTarget,
  filter: CasFilter,
  rebuilt: CatalogRebuild,
): CatalogRefresh {
  return { ...rebuilt, ...syncCatalog(db, rebuilt.entries, rowOfTarget(target, filter), rebuilt.listedAt) };
}

/**
 * Lists `target` (below the filter's namespace/name) and makes the catalog agree with it: sets missing from the
 * catalog are added, completed rows of this target whose set is gone are removed.
 */
export async function refreshCatalog(
  store: { db: StoreDb },
  target: BackupTarget,
  filter: CasFilter = {},
): Promise<CatalogRefresh> {
  return storeCatalogOf(store.db, target, filter, await readCatalogOf(target, filter));
}
