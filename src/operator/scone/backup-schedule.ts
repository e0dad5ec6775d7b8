// When the managed CAS's next database backup is due (pure): spec.backup.interval seconds after the last completed
// one, at once when none completed yet. The last completion is kept in an annotation of the Scone resource, so a
// restarted or new leader continues the schedule instead of starting it over.
import type { Scone } from "../../resources/scone.ts";
import { SCONE_CONDITION, SCONE_REASON } from "../../resources/scone-conditions.ts";
import type { ConditionInput } from "../../runtime/conditions.ts";

export const LAST_BACKUP_ANNOTATION = "confidential.security.osc.t-systems.com/last-backup";
export const LAST_BACKUP_ERROR_ANNOTATION = "confidential.security.osc.t-systems.com/last-backup-error";

/** spec.backup.interval when unset (4 h). */
export const DEFAULT_BACKUP_INTERVAL_SECONDS = 14400;

export function nextBackupDue(lastCompleted: Date | undefined, intervalSeconds: number, now: Date): Date {
  if (!lastCompleted || Number.isNaN(lastCompleted.getTime())) return now;
  const due = new Date(lastCompleted.getTime() + intervalSeconds * 1000);
  // A clock that jumped back must not postpone backups by more than one interval.
  const latest = new Date(now.getTime() + intervalSeconds * 1000);
  return due > latest ? latest : due;
}

export function lastBackupOf(scone: Pick<Scone, "metadata">): Date | undefined {
  const text = scone.metadata.annotations?.[LAST_BACKUP_ANNOTATION];
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/** The BackupScheduled condition: what the schedule is and how the last run went. */
export function backupCondition(
  scone: Pick<Scone, "metadata" | "spec">,
  opts: { readonly runnerAvailable: boolean; readonly casManaged: boolean; readonly now: Date },
): ConditionInput {
  const scheduled = (status: "True" | "False", reason: string, message: string): ConditionInput => ({
    type: SCONE_CONDITION.BackupScheduled,
    status,
    reason,
    message,
  });
  const interval = scone.spec?.backup?.interval ?? DEFAULT_BACKUP_INTERVAL_SECONDS;
  const retention = scone.spec?.backup?.retention ?? 10;
  if (!opts.casManaged) return scheduled("False", SCONE_REASON.NoCas, "skipCas: no CAS to back up");
  if (!opts.runnerAvailable)
    return scheduled(
      "False",
      SCONE_REASON.NoBackupTarget,
      "this operator runs no backup target: CAS database backups are not taken by the stack",
    );
  const last = lastBackupOf(scone);
  const due = nextBackupDue(last, interval, opts.now);
  const error = scone.metadata.annotations?.[LAST_BACKUP_ERROR_ANNOTATION];
  const schedule = `every ${interval} s, kept ${retention} days; ${last ? `last completed ${iso(last)}` : "none completed yet"}, next due ${last ? iso(due) : "now"}`;
  return error
    ? scheduled("True", SCONE_REASON.LastBackupFailed, `${schedule}; last attempt failed: ${error}`)
    : scheduled("True", SCONE_REASON.Scheduled, schedule);
}
