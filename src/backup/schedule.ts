// Scheduled backups (pure): when the next backup of a CAS is due, from the Scone resource's spec.backup
// (interval in seconds, retention in days) and the catalog. The operator's loop calls backupDue, runs runBackup
// when due, then applyRetention/executeRetention, and requeues at `at`.
import type { BackupRecord } from "../store/backups.ts";
import { type BackupSubject, DEFAULT_STALE_AFTER_MS } from "./plan.ts";
import type { RetentionPolicy } from "./retention.ts";

/** Upstream defaults: every 4 hours, kept 10 days. */
export const DEFAULT_INTERVAL_SECONDS = 14_400;
export const DEFAULT_RETENTION_DAYS = 10;
/** After a failed attempt, try again this soon rather than a whole interval later. */
export const DEFAULT_RETRY_AFTER_MS = 5 * 60_000;

export interface BackupSchedule {
  intervalMs: number;
  retryAfterMs: number;
  retention: RetentionPolicy;
}

export function scheduleOf(backup: { interval?: number; retention?: number } | undefined): BackupSchedule {
  const intervalMs = (backup?.interval ?? DEFAULT_INTERVAL_SECONDS) * 1000;
  return {
    intervalMs,
    retryAfterMs: Math.min(DEFAULT_RETRY_AFTER_MS, intervalMs),
    retention: { keepDays: backup?.retention ?? DEFAULT_RETENTION_DAYS },
  };
}

export interface BackupDue {
  due: boolean;
  /** When it is (or was) due, ms since the epoch: the requeue time when not due now. */
  at: number;
  reason: string;
}

export function backupDue(
  catalog: readonly BackupRecord[],
  cas: Pick<BackupSubject, "namespace" | "name">,
  schedule: BackupSchedule,
  now: number,
): BackupDue {
  const own = catalog
    .filter((b) => b.namespace === cas.namespace && b.name === cas.name)
    .sort((a, b) => b.startedAt - a.startedAt);
  // A backup running past the stale age was abandoned (crash): it does not block; runBackup marks it failed.
  const active = own.find(
    (b) => (b.phase === "pending" || b.phase === "running") && now - b.startedAt < DEFAULT_STALE_AFTER_MS,
  );
  if (active) return { due: false, at: now + schedule.retryAfterMs, reason: `backup ${active.id} is ${active.phase}` };
  const lastCompleted = own.find((b) => b.phase === "completed");
  const lastAttempt = own[0];
  if (lastAttempt?.phase === "failed") {
    // A failure is retried soon, not a whole interval later: the last good backup ages meanwhile.
    const at = (lastAttempt.stoppedAt ?? lastAttempt.startedAt) + schedule.retryAfterMs;
    return at <= now
      ? { due: true, at, reason: `retrying after the failed backup ${lastAttempt.id}` }
      : { due: false, at, reason: `backup ${lastAttempt.id} failed; retrying at ${new Date(at).toISOString()}` };
  }
  if (!lastCompleted) return { due: true, at: now, reason: "no backup yet" };
  const at = lastCompleted.startedAt + schedule.intervalMs;
  return at <= now
    ? { due: true, at, reason: `last backup ${lastCompleted.id} is older than the interval` }
    : { due: false, at, reason: `next backup at ${new Date(at).toISOString()}` };
}
