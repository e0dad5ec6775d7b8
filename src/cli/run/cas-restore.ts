// `scone cas restore NEWNAME -n NS --from BACKUP_ID|DIR|s3://…`: a new CAS from a verified backup (src/flows/restore).

import { textFlag } from "../flags.ts";
import { parseDuration } from "../globals.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";

/** How `--cas-database-recovery DIR` (provision-day-two.ts) reuses this command with a raw snapshot directory. */
export interface RestoreSourceOverride {
  resolveSource(from: string): Promise<import("../../backup/restore-source.ts").RestoreSource>;
  /** The command line that continues an interrupted run. */
  readonly rerun: string;
}

export async function run(ctx: SconeContext, override?: RestoreSourceOverride): Promise<void> {
  const a = ctx.args;
  const name = textFlag(a.name) ?? "cas";
  const namespace = textFlag(a.namespace) ?? "default";
  const from = textFlag(a.from);
  if (!from) throw new CliError("missing --from BACKUP", 1, "List backups with scone cas backups");
  const [
    { clusterPorts },
    { runRestore },
    { printingProgress },
    { stepLine },
    backup,
    { DEFAULT_SCONE_SERVICE_VERSION },
  ] = await Promise.all([
    import("./cas-backup.ts"),
    import("../../flows/restore/flow.ts"),
    import("../../flows/status/progress.ts"),
    import("./cas-provision.ts"),
    import("../../backup/index.ts"),
    import("../../version.ts"),
  ]);
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const { DB_FILE, openStore } = await import("../../store/open.ts");
  const { kube, credentials, exec } = await clusterPorts(a, namespace, from);
  const stateDir = resolveStateDir({ flag: textFlag(a["state-dir"]), mode: "cli" });
  // A catalog id needs the catalog; a directory or s3:// URL does not (and must not create a state directory).
  const store = existsSync(join(stateDir, DB_FILE)) ? openStore({ stateDir }) : undefined;
  const timeout = textFlag(a.timeout);
  try {
    const outcome = await runRestore(
      {
        kube,
        exec,
        resolveSource:
          override?.resolveSource ??
          ((spec) =>
            backup.resolveRestoreSource(spec, {
              ...(store ? { store } : {}),
              ...(credentials ? { credentials } : {}),
            })),
      },
      {
        name,
        namespace,
        from,
        defaultVersion: DEFAULT_SCONE_SERVICE_VERSION,
        ...(textFlag(a["set-version"]) ? { version: textFlag(a["set-version"]) } : {}),
        ...(textFlag(a["image-registry"]) ? { imageRepo: textFlag(a["image-registry"]) } : {}),
        ...(textFlag(a["image-prefix"]) ? { imagePrefix: textFlag(a["image-prefix"]) } : {}),
        ...(timeout ? { timeoutMs: parseDuration(timeout) } : {}),
        ...(override ? { rerun: override.rerun } : {}),
      },
      printingProgress(stepLine, (line) => process.stderr.write(`${line}\n`)),
    );
    const { cause, ...shown } = outcome;
    if (isData(a.output)) process.stdout.write(renderData(a.output, shown));
    if (!outcome.ok) throw new CliError(outcome.error ?? "the restore failed", 1, undefined, { cause });
    if (!isData(a.output)) process.stdout.write(`CAS ${namespace}/${name} restored from ${outcome.backupId}\n`);
  } finally {
    store?.close();
  }
}
