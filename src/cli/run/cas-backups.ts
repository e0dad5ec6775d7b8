// `scone cas backups [NAME] [-n NS]`: the backup catalog of this state directory, newest first (table or JSON).
import type { SconeContext } from "../spec.ts";

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
