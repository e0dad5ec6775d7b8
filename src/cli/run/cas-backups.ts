// `scone cas backups [NAME] [-n NS]`: the backup catalog of this state directory, newest first (table or JSON).
// The catalog is a cache: `--refresh` rebuilds it from the sets a target holds (their manifests), so a fresh
// state directory lists what the target has.

import { textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const name = textFlag(a.name);
  // NAME alone means that CAS in the default namespace (like every scone cas command); no NAME: every CAS, or -n's.
  const namespace = textFlag(a.namespace) ?? (name ? "default" : undefined);
  const [{ withStore }, { listBackups }, { renderTable, formatTime }] = await Promise.all([
    import("./store-access.ts"),
    import("../../store/backups.ts"),
    import("../table.ts"),
  ]);
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const stateDir = resolveStateDir({ flag: textFlag(a["state-dir"]), mode: "cli" });
  if (a.refresh === true) await refresh(a, stateDir, namespace, name);
  else if (textFlag(a.from)) return listLocation(a, textFlag(a.from) as string, namespace, name);
  const rows = existsSync(join(stateDir, "scone.db"))
    ? await withStore(a["state-dir"], "cli", (store) =>
        listBackups(store.db, {
          ...(namespace ? { namespace } : {}),
          ...(name ? { name } : {}),
          limit: Number(textFlag(a.limit) ?? 100),
        }),
      )
    : [];
  if (isData(a.output)) {
    process.stdout.write(renderData(a.output, rows));
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

/** Opens --from (a directory must exist), with --s3-secret's credentials when given. */
async function openLocation(a: SconeContext["args"], location: string, namespace: string | undefined) {
  const [backup, { clusterPorts }] = await Promise.all([import("../../backup/index.ts"), import("./cas-backup.ts")]);
  if (!backup.isS3Location(location)) {
    const { existsSync } = await import("node:fs");
    if (!existsSync(location)) throw new CliError(`--from ${location}: no such directory`);
  }
  const secret = typeof a["s3-secret"] === "string" && a["s3-secret"] !== "";
  const credentials = secret ? (await clusterPorts(a, namespace ?? "default", location)).credentials : undefined;
  try {
    return backup.openTarget(location, { field: "--from", ...(credentials ? { credentials } : {}) });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
}

/** `--refresh`: the catalog rows of --from (default <state dir>/backups) rebuilt from its sets' manifests. */
async function refresh(
  a: SconeContext["args"],
  stateDir: string,
  namespace: string | undefined,
  name: string | undefined,
): Promise<void> {
  const [backup, { withStore }] = await Promise.all([import("../../backup/index.ts"), import("./store-access.ts")]);
  const location = textFlag(a.from) ?? backup.defaultBackupLocation(stateDir);
  const { existsSync } = await import("node:fs");
  // No default directory yet: nothing was backed up here, and nothing is listed there.
  if (!textFlag(a.from) && !existsSync(location)) return;
  const target = await openLocation(a, location, namespace);
  const filter = { ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
  let rebuilt: Awaited<ReturnType<typeof backup.readCatalogOf>>;
  try {
    rebuilt = await backup.readCatalogOf(target, filter);
  } catch (err) {
    throw new CliError(`--refresh from ${location}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const done = await withStore(a["state-dir"], "cli", (store) =>
    backup.storeCatalogOf(store.db, target, filter, rebuilt),
  );
  process.stderr.write(
    `catalog refreshed from ${location}: ${done.entries.length} backup sets, ${done.added.length} added, ${done.removed.length} removed\n`,
  );
  for (const s of done.skipped) process.stderr.write(`  skipped ${s.location}: ${s.reason}\n`);
}

/** `--from LOCATION`: the sets below <location>/<namespace>/<name>/, each with its manifest or marked incomplete. */
async function listLocation(
  a: SconeContext["args"],
  location: string,
  namespace: string | undefined,
  name: string | undefined,
): Promise<void> {
  const [backup, { renderTable }] = await Promise.all([import("../../backup/index.ts"), import("../table.ts")]);
  const target = await openLocation(a, location, namespace);
  let sets: Awaited<ReturnType<typeof backup.listTargetBackups>>;
  try {
    sets = await backup.listTargetBackups(target, { ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  if (isData(a.output)) {
    process.stdout.write(renderData(a.output, sets));
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
