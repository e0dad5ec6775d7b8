// `scone cas backups [NAME] [-n NS]`: the backup catalog of this state directory, newest first (table or JSON).
import { CliError, type SconeContext } from "../spec.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const name = str(a.name);
  // NAME alone means that CAS in the default namespace (like every scone cas command); no NAME: every CAS, or -n's.
  const namespace = str(a.namespace) ?? (name ? "default" : undefined);
  const [{ withStore }, { listBackups }, { renderTable, formatTime }] = await Promise.all([
    import("./store-access.ts"),
    import("../../store/backups.ts"),
    import("../table.ts"),
  ]);
  if (str(a.from)) return listLocation(a, str(a.from) as string, namespace, name);
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const stateDir = resolveStateDir({ flag: str(a["state-dir"]), mode: "cli" });
  const rows = existsSync(join(stateDir, "scone.db"))
    ? await withStore(a["state-dir"], "cli", (store) =>
        listBackups(store.db, {
          ...(namespace ? { namespace } : {}),
          ...(name ? { name } : {}),
          limit: Number(str(a.limit) ?? 100),
        }),
      )
    : [];
  if (a.output === "json") {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stderr.write("no backups in this catalog\n");
    return;
  }
  process.stdout.write(
    renderTable(
      ["ID", "NAMESPACE", "CAS", "PHASE", "STARTED", "SIZE", "TARGET"],
      rows.map((r) => [
        r.id,
        r.namespace,
        r.name,
        r.phase,
        formatTime(r.startedAt),
        r.sizeBytes === null ? "-" : String(r.sizeBytes),
        r.error ? `${r.target} (${r.error})` : r.target,
      ]),
    ),
  );
}

/** `--from LOCATION`: the sets below <location>/<namespace>/<name>/, each with its manifest or marked incomplete. */
async function listLocation(
  a: SconeContext["args"],
  location: string,
  namespace: string | undefined,
  name: string | undefined,
): Promise<void> {
  const [backup, { clusterPorts }, { renderTable }] = await Promise.all([
    import("../../backup/index.ts"),
    import("./cas-backup.ts"),
    import("../table.ts"),
  ]);
  if (!backup.isS3Location(location)) {
    const { existsSync } = await import("node:fs");
    if (!existsSync(location)) throw new CliError(`--from ${location}: no such directory`);
  }
  const secret = typeof a["s3-secret"] === "string" && a["s3-secret"] !== "";
  const credentials = secret ? (await clusterPorts(a, namespace ?? "default", location)).credentials : undefined;
  let sets: Awaited<ReturnType<typeof backup.listTargetBackups>>;
  try {
    const target = backup.openTarget(location, { field: "--from", ...(credentials ? { credentials } : {}) });
    sets = await backup.listTargetBackups(target, { ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  if (a.output === "json") {
    process.stdout.write(`${JSON.stringify(sets, null, 2)}\n`);
    return;
  }
  if (sets.length === 0) {
    process.stderr.write(`no backup sets in ${location}\n`);
    return;
  }
  process.stdout.write(
    renderTable(
      ["ID", "NAMESPACE", "CAS", "CREATED", "VERSION", "LOCATION"],
      sets.map((b) => [
        b.id,
        b.namespace,
        b.name,
        b.manifest ? b.manifest.created : "INCOMPLETE (no manifest)",
        b.manifest?.cas.version ?? "-",
        b.location,
      ]),
    ),
  );
}
