// Pure decision whether a backup of a CAS may start now. Backups of one CAS are serialized (CloudNativePG's
// CanExecuteBackup): a pending or running backup blocks a new one — unless it is older than `staleAfterMs`, in
// which case the process running it died (crash, kill) and it is abandoned: marked failed, its partial files removed.
import type { CAS } from "../resources/cas.ts";
import type { BackupRecord } from "../store/backups.ts";

/** What planning needs to know about the CAS. */
export interface BackupSubject {
  namespace: string;
  name: string;
  /** CAS software version (status.version), recorded in the manifest. */
  version?: string | null;
  /** false: the CAS has no owner yet, so no database worth keeping. undefined: unknown (not checked). */
  provisioned?: boolean;
}

export function backupSubjectOf(cas: CAS): BackupSubject {
  const status = cas.status;
  const version = status?.version && status.version !== "unknown" ? status.version : null;
  return {
    namespace: cas.metadata.namespace ?? "default",
    name: cas.metadata.name ?? "",
    version,
    ...(status?.provisioned === "Yes"
      ? { provisioned: true }
      : status?.provisioned === "No"
        ? { provisioned: false }
        : {}),
  };
}

/** A backup running longer than this is taken for abandoned (a CAS database copy takes seconds). */
export const DEFAULT_STALE_AFTER_MS = 30 * 60_000;

export type BackupPlan =
  | { action: "start"; abandon: BackupRecord[] }
  | { action: "wait"; running: BackupRecord; reason: string }
  | { action: "refuse"; reason: string };

export interface PlanOptions {
  now: number;
  staleAfterMs?: number;
}

export function planBackup(cas: BackupSubject, catalog: readonly BackupRecord[], options: PlanOptions): BackupPlan {
  const who = `${cas.namespace}/${cas.name}`;
  if (cas.provisioned === false) {
    return { action: "refuse", reason: `CAS ${who} is not provisioned: it holds no database to back up yet` };
  }
  const staleAfter = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const active = catalog.filter(
    (b) => b.namespace === cas.namespace && b.name === cas.name && (b.phase === "pending" || b.phase === "running"),
  );
  const live = active
    .filter((b) => options.now - b.startedAt < staleAfter)
    .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  const first = live[0];
  if (first) {
    return {
      action: "wait",
      running: first,
      reason: `backup ${first.id} of CAS ${who} is ${first.phase} since ${new Date(first.startedAt).toISOString()}; backups of one CAS run one at a time`,
    };
  }
  return { action: "start", abandon: active };
}

/** The error recorded on a backup given up as abandoned. */
export function abandonedReason(record: BackupRecord, now: number): string {
  const minutes = Math.round((now - record.startedAt) / 60_000);
  return `abandoned: still ${record.phase} after ${minutes} min, the process running it stopped before it finished`;
}
