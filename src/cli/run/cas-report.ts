// `scone cas report NAME -n NS [--file FILE] [--logs-since DURATION] [--force]`: a support bundle of one CAS
// (src/flows/report), written 0600 as FILE; `-o json|yaml` prints its table of contents, text a summary.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { durationSeconds } from "../duration.ts";
import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";

/** The operator's reconciles of this CAS, when this state directory has a store (reading never creates one). */
async function readHistory(stateDirFlag: string | undefined, id: { namespace: string; name: string }) {
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const { DB_FILE, openStore } = await import("../../store/open.ts");
  const stateDir = resolveStateDir({ flag: stateDirFlag, mode: "cli" });
  if (!existsSync(join(stateDir, DB_FILE))) return undefined;
  const store = openStore({ stateDir });
  try {
    const { listHistory } = await import("../../store/history.ts");
    return listHistory(store.db, { kind: "CAS", ...id, limit: 200 });
  } finally {
    store.close();
  }
}

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const id = { name: textFlag(a.name) ?? "cas", namespace: textFlag(a.namespace) ?? "default" };
  const force = a.force === true;
  const write = await import("../../flows/report/write.ts");
  const file = textFlag(a.file) ?? write.defaultReportFile(id.name, new Date());
  // Before any cluster work: a refused path must not cost a collection.
  let target: string;
  try {
    target = await write.checkReportTarget(file, force);
  } catch (err) {
    if (err instanceof write.ReportPathError) throw new CliError(err.message);
    throw err;
  }
  const since = textFlag(a["logs-since"]);
  const [{ collectReport }, { assembleBundle }] = await Promise.all([
    import("../../flows/report/collect.ts"),
    import("../../flows/report/bundle.ts"),
  ]);
  const kube = await openKube(a);
  const history = await readHistory(textFlag(a["state-dir"]), id);
  let input: Awaited<ReturnType<typeof collectReport>>;
  try {
    input = await collectReport(kube, id, { sinceSeconds: since ? durationSeconds(since) : undefined, history });
  } catch (err) {
    if (err instanceof Error && err.message.endsWith("not found")) throw new CliError(err.message);
    throw err;
  }
  const { files, toc } = assembleBundle(input);
  const bytes = await write.archiveBytes(`${id.name}-report`, files);
  try {
    await write.writeReportFile(target, bytes, force);
  } catch (err) {
    if (err instanceof write.ReportPathError) throw new CliError(err.message);
    throw err;
  }
  if (isData(a.output)) {
    process.stdout.write(renderData(a.output, { file: target, bytes: bytes.length, ...toc }));
    return;
  }
  let text = `wrote ${target}: ${files.length} files, ${Math.ceil(bytes.length / 1024)} KiB (Secrets left out, secret values redacted)\n`;
  for (const note of toc.notes) text += `note: ${note}\n`;
  process.stdout.write(text);
}
