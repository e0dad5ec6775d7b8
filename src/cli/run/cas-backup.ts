// `scone cas backup NAME -n NS [--to DIR|s3://bucket/prefix] [--s3-secret NS/NAME]`: copies the last completed
// snapshot out of NAME-0, verifies and catalogs it (src/flows/backup). S3 credentials: the Secret, else AWS_* variables.

import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

/** `NS/NAME` (or `NAME`, in the command's namespace) of --s3-secret. */
export function secretRef(value: string, namespace: string): { namespace: string; name: string } {
  const parts = value.split("/");
  const ok = (p: string | undefined): p is string => p !== undefined && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(p);
  if (parts.length === 1 && ok(parts[0])) return { namespace, name: parts[0] };
  if (parts.length === 2 && ok(parts[0]) && ok(parts[1])) return { namespace: parts[0], name: parts[1] };
  throw new CliError(`invalid value '${value}' for --s3-secret: expected NAMESPACE/NAME of a Secret`, EXIT_USAGE);
}

/** Kube client, S3 credentials (when the location needs them) and the exec port, for backup and restore. */
export async function clusterPorts(a: SconeContext["args"], namespace: string, location: string | undefined) {
  const [{ execInPod }, { isS3Location, s3CredentialsFromKubeSecret }] = await Promise.all([
    import("../../kube/exec.ts"),
    import("../../backup/index.ts"),
  ]);
  const kube = await openKube(a);
  const secret = textFlag(a["s3-secret"]);
  const credentials =
    secret && (location === undefined || isS3Location(location) || location.startsWith("bk-"))
      ? await s3CredentialsFromKubeSecret(kube, secretRef(secret, namespace))
      : undefined;
  const exec: import("../../flows/status/observe.ts").PodExec = (o) => execInPod(kube.transport.connection, o);
  return { kube, credentials, exec };
}

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const name = textFlag(a.name) ?? "cas";
  const namespace = textFlag(a.namespace) ?? "default";
  const [backup, { runCasBackup }, { ownerFile }, { openStore }] = await Promise.all([
    import("../../backup/index.ts"),
    import("../../flows/backup/flow.ts"),
    import("../../flows/backup/owner.ts"),
    import("../../store/open.ts"),
  ]);
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const stateDir = resolveStateDir({ flag: textFlag(a["state-dir"]), mode: "cli" });
  const location = textFlag(a.to) ?? backup.defaultBackupLocation(stateDir);
  const { kube, credentials, exec } = await clusterPorts(a, namespace, location);
  let target: import("../../backup/target.ts").BackupTarget;
  try {
    target = backup.openTarget(location, { field: "--to", ...(credentials ? { credentials } : {}) });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  const store = openStore({ stateDir });
  const outcome = await runCasBackup(
    { kube, exec },
    { name, namespace, target, store, owner: ownerFile(stateDir, { namespace, name }) },
  )
    .catch((err: unknown) => {
      const known = ["BackupRefusedError", "BackupInProgressError", "BackupNotPossibleError", "S3CredentialsError"];
      if (err instanceof Error && known.includes(err.name)) throw new CliError(err.message);
      throw err;
    })
    .finally(() => store.close());
  if (isData(a.output)) process.stdout.write(renderData(a.output, outcome));
  if (!outcome.ok) throw new CliError(`backup of CAS ${namespace}/${name} failed: ${outcome.error ?? "unknown"}`);
  if (!isData(a.output) && outcome.record) {
    const r = outcome.record;
    process.stdout.write(`${r.id} completed: ${r.target} (${r.sizeBytes ?? 0} bytes, verified)\n`);
  }
}
