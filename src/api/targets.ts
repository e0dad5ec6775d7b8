// The backup targets an API replica reads its caches from: its backup root (when it has one) and each --s3-allow
// location (credentials: the API's AWS_* variables, as for its operations). Every replica derives the same list from
// the same flags, so the catalog and the audit index, refilled from these, are the same in each (issue 14).
import { openTarget } from "../backup/open-target.ts";
import type { BackupTarget } from "../backup/target.ts";
import { indexMissing, rebuildAuditIndex } from "../flows/audit/archive/rebuild.ts";
import type { StoreDb } from "../store/open.ts";
import { type Confinement, confinedLocations } from "./operations/confine.ts";
import { ApiProblem } from "./problem.ts";

export interface ApiTarget {
  readonly location: string;
  readonly target: BackupTarget;
}

/** Opens the confinement's locations; one that cannot be opened (no S3 credentials) is a 503 naming it. */
export function confinedTargets(
  c: Confinement,
  env: Record<string, string | undefined> = process.env,
): readonly ApiTarget[] {
  return confinedLocations(c).map((location) => {
    try {
      return { location, target: openTarget(location, { env }) };
    } catch (err) {
      throw unreadable(location, err);
    }
  });
}

const unreadable = (location: string, err: unknown) =>
  new ApiProblem(
    503,
    "Backup target unreadable",
    `${location}: ${err instanceof Error ? err.message : String(err)} (the API's backup root or --s3-allow, credentials from its AWS_* variables)`,
  );

/** `?refresh=true` of GET /backups and the start of `scone api`: the catalog refilled from every target. */
export async function refreshCatalogFromTargets(db: StoreDb, targets: readonly ApiTarget[]): Promise<number> {
  const { refreshCatalog } = await import("../backup/catalog.ts");
  let added = 0;
  for (const t of targets) {
    const done = await refreshCatalog({ db }, t.target).catch((err: unknown) => {
      throw unreadable(t.location, err);
    });
    added += done.added.length;
  }
  return added;
}

/**
 * GET /audit on an index holding nothing of the CAS (a new replica, a restarted pod): rebuilt from the audit
 * archive the operator shipped to a target (_audit/…), as `scone cas audit --archive` does. The first target holding
 * entries of the CAS wins; segments whose digest does not match are skipped (rebuild.ts).
 */
export async function auditIndexFromArchive(
  db: StoreDb,
  targets: () => readonly ApiTarget[],
  cas: { readonly namespace: string; readonly name: string },
): Promise<number> {
  // Targets are opened only for a missing index: an API without S3 credentials still searches what it has.
  if (!indexMissing(db, cas)) return 0;
  for (const t of targets()) {
    const r = await rebuildAuditIndex(db, t.target, cas).catch((err: unknown) => {
      throw unreadable(t.location, err);
    });
    if (r.entries > 0) return r.entries;
  }
  return 0;
}
