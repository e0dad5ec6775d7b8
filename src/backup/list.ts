// Listing backups: the catalog (this machine's record) and what a target holds (e.g. a bucket written by another
// installation), each set with its manifest or marked incomplete.
import { type BackupRecord, listBackups as listCatalog } from "../store/backups.ts";
import type { StoreDb } from "../store/open.ts";
import type { BackupPhase } from "../store/schema.ts";
import { AUDIT_ARCHIVE_ROOT, joinKey, MANIFEST_FILE, MAX_MANIFEST_BYTES } from "./layout.ts";
import { type BackupManifest, parseManifest } from "./manifest.ts";
import type { BackupTarget } from "./target.ts";

export interface ListBackupsOptions {
  store: { db: StoreDb };
  namespace?: string;
  name?: string;
  phase?: BackupPhase;
  limit?: number;
}

/** Catalog rows, newest first. */
export function listBackups(options: ListBackupsOptions): BackupRecord[] {
  const { store, limit = 100, ...filter } = options;
  return listCatalog(store.db, { ...filter, limit });
}

export interface TargetBackup {
  namespace: string;
  name: string;
  id: string;
  /** The set's location (restore source). */
  location: string;
  /** null: no readable manifest — an incomplete or interrupted backup, not restorable. */
  manifest: BackupManifest | null;
}

/** Manifest reads in flight at once while listing a target. */
const MANIFEST_READS = 16;

/** Backup sets found in a target (below <namespace>/<name>/<id>/), newest id first. */
export async function listTargetBackups(
  target: BackupTarget,
  filter: { namespace?: string; name?: string } = {},
): Promise<TargetBackup[]> {
  const prefix = joinKey(filter.namespace ?? "", filter.namespace ? (filter.name ?? "") : "");
  const sets = new Map<string, { namespace: string; name: string; id: string }>();
  for (const key of await target.list(prefix)) {
    const [namespace, name, id, ...rest] = key.split("/");
    if (!namespace || !name || !id || rest.length === 0) continue;
    // The shipped audit logs share the target (flows/audit/archive): never a backup set.
    if (namespace === AUDIT_ARCHIVE_ROOT) continue;
    if (filter.name !== undefined && name !== filter.name) continue;
    sets.set(`${namespace}/${name}/${id}`, { namespace, name, id });
  }
  const refs = [...sets];
  const out: TargetBackup[] = [];
  // A few manifest reads at a time: a catalog rebuilt from thousands of sets in S3 waits on round trips, not CPU.
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const [set, ref] = refs[next++] as [string, { namespace: string; name: string; id: string }];
      const bytes = await target.get(joinKey(set, MANIFEST_FILE), MAX_MANIFEST_BYTES + 1);
      const parsed = bytes === null ? null : parseManifest(new TextDecoder().decode(bytes));
      out.push({ ...ref, location: target.locationOf(set), manifest: parsed?.ok ? parsed.manifest : null });
    }
  };
  await Promise.all(Array.from({ length: Math.min(MANIFEST_READS, refs.length) }, worker));
  return out.sort((a, b) => b.id.localeCompare(a.id) || a.location.localeCompare(b.location));
}
