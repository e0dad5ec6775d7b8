// POST /operations kind=backup: `scone cas backup` (src/flows/backup runCasBackup) as one step. Its effect is a
// completed row in the backup catalog, so a step interrupted by a dead API process first looks there: a completed
// backup of this CAS started since the operation began means it took effect, and it is not taken twice. A backup
// killed midway leaves a `running` row; the owner file (same as the CLI's) lets the rerun give it up at once.
import type { BackupRecord } from "../../../store/backups.ts";
import type { OperationRecord } from "../../../store/operations.ts";
import { refuseBackupLocation } from "../confine.ts";
import type { OperationRunner } from "../runner.ts";
import { podExec } from "./day2.ts";
import { type CasRunnerDeps, stoppableKube } from "./deps.ts";

export function backupRunner(deps: CasRunnerDeps): OperationRunner {
  return {
    async run(op, report) {
      const [{ BackupParams }, { runCasBackup }, { ownerFile }, backup, { listBackups }] = await Promise.all([
        import("../params.ts"),
        import("../../../flows/backup/flow.ts"),
        import("../../../flows/backup/owner.ts"),
        import("../../../backup/index.ts"),
        import("../../../store/backups.ts"),
      ]);
      const params = BackupParams.parse(op.params);
      const cas = { namespace: op.namespace, name: op.name };
      const takenByThisOperation = (): BackupRecord | undefined =>
        listBackups(deps.db, { ...cas, phase: "completed", limit: 20 }).find((b) => b.startedAt >= op.createdAt);

      await report.step("backup", async ({ interrupted }) => {
        if (interrupted && takenByThisOperation()) return;
        // S3 credentials come from the API's environment (AWS_* variables): never from the request. The target is
        // checked again here: the operation may have been stored before a restart changed --backup-root/--s3-allow.
        const location = params.target ?? deps.confine.backupRoot ?? backup.defaultBackupLocation(deps.stateDir);
        const refused = refuseBackupLocation(deps.confine, location);
        if (refused) throw new Error(`params.target ${refused}`);
        const target = backup.openTarget(location, { field: "params.target" });
        const outcome = await runCasBackup(
          { kube: stoppableKube(deps.client, report.signal), exec: await podExec(deps.client) },
          { ...cas, target, store: { db: deps.db }, owner: ownerFile(deps.stateDir, cas) },
        );
        if (!outcome.ok) throw new Error(`backup of CAS ${label(op)} failed: ${outcome.error ?? "unknown"}`);
      });
      const record = takenByThisOperation();
      if (!record) throw new Error(`the catalog holds no completed backup of CAS ${label(op)} taken by this operation`);
      return { backupId: record.id, target: record.target, sizeBytes: record.sizeBytes ?? 0 };
    },
  };
}

const label = (op: OperationRecord) => `${op.namespace}/${op.name}`;
