// `scone cas status NAME -n NS`: the CAS resource, its pod and nodes, and (when this state directory has them) its
// backups and recent reconciles, as text or JSON (src/flows/status).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { EXIT_FAILURE, EXIT_OK, type SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<number> {
  const a = ctx.args;
  const [{ observeCas }, { buildStatusReport, formatStatusReport }] = await Promise.all([
    import("../../flows/status/observe.ts"),
    import("../../flows/status/report.ts"),
  ]);
  const id = { name: textFlag(a.name) ?? "cas", namespace: textFlag(a.namespace) ?? "default" };
  const kube = await openKube(a);
  const observed = await observeCas(kube, id);
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const { DB_FILE, openStore } = await import("../../store/open.ts");
  const stateDir = resolveStateDir({ flag: textFlag(a["state-dir"]), mode: "cli" });
  let backups: import("../../store/backups.ts").BackupRecord[] = [];
  let history: import("../../store/history.ts").ReconcileRecord[] = [];
  // Reading must not create a state directory: without one there simply are no backups or history to show.
  if (existsSync(join(stateDir, DB_FILE))) {
    const store = openStore({ stateDir });
    try {
      const { listBackups } = await import("../../store/backups.ts");
      const { listHistory } = await import("../../store/history.ts");
      backups = listBackups(store.db, { ...id, limit: 5 });
      history = listHistory(store.db, { kind: "CAS", ...id, limit: 5 });
    } finally {
      store.close();
    }
  }
  const report = buildStatusReport(id, observed, backups, history);
  if (isData(a.output)) process.stdout.write(renderData(a.output, report));
  else process.stdout.write(formatStatusReport(report));
  return report.exists ? EXIT_OK : EXIT_FAILURE;
}
