// `scone cas audit NAME -n NS [-f]` (upstream `kubectl audit cas`): prints the audit log of NAME-0, indexes it in the
// state store and has the SCONE CLI verify it (flows/audit/verify.ts: `cas verify-audit-log`, its exit code is the
// verdict; exit 1 when it is not "correct"). `--search "words" [--event E] [--since T] [--until T]` queries the index;
// `--archive LOCATION` rebuilds a missing index from the audit logs the operator shipped there first.

import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type SconeContext } from "../spec.ts";

function time(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new CliError(
      `invalid value '${value}' for --${flag}: expected a time such as 2026-11-23T10:00:00Z`,
      EXIT_USAGE,
    );
  }
  return ms;
}

/**
 * `--archive LOCATION`: when the index holds nothing of the CAS (a fresh laptop, a new operator pod), it is rebuilt from
 * the audit logs the operator shipped there (flows/audit/archive), each segment's digest checked.
 */
async function rebuildFromArchive(
  stateDirFlag: unknown,
  location: string,
  cas: { namespace: string; name: string },
): Promise<void> {
  const [{ openTarget }, { indexMissing, rebuildAuditIndex }, { resolveStateDir }, { openStore }] = await Promise.all([
    import("../../backup/open-target.ts"),
    import("../../flows/audit/archive/rebuild.ts"),
    import("../../store/state-dir.ts"),
    import("../../store/open.ts"),
  ]);
  let target: ReturnType<typeof openTarget>;
  try {
    target = openTarget(location, { field: "--archive" });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), EXIT_USAGE);
  }
  const store = openStore({ stateDir: resolveStateDir({ flag: textFlag(stateDirFlag), mode: "cli" }) });
  try {
    if (!indexMissing(store.db, cas)) return;
    const r = await rebuildAuditIndex(store.db, target, cas).catch((err: unknown) => {
      throw new CliError(`--archive ${location}: ${err instanceof Error ? err.message : String(err)}`);
    });
    process.stderr.write(
      `index rebuilt from the archive in ${location}: ${r.entries} entries of ${r.segments} segments\n`,
    );
    for (const p of r.problems)
      process.stderr.write(`  segment seq ${p.first}..${p.last} of log ${p.log.slice(0, 16)}… refused: ${p.problem}\n`);
  } finally {
    store.close();
  }
}

export async function run(ctx: SconeContext): Promise<number> {
  const a = ctx.args;
  const id = { name: textFlag(a.name) ?? "cas", namespace: textFlag(a.namespace) ?? "default" };
  const [{ withStore }, audit] = await Promise.all([import("./store-access.ts"), import("../../flows/audit/flow.ts")]);
  const data = isData(a.output) ? a.output : undefined;
  const searching = ["search", "event", "since", "until", "archive"].some((f) => textFlag(a[f]) !== undefined);
  if (searching) {
    const from = time("since", textFlag(a.since));
    const to = time("until", textFlag(a.until));
    const { renderTable, formatTime } = await import("../table.ts");
    const archive = textFlag(a.archive);
    if (archive !== undefined) await rebuildFromArchive(a["state-dir"], archive, id);
    const page = await withStore(
      a["state-dir"],
      "cli",
      (store) =>
        audit.searchAuditIndex(store.db, {
          ...id,
          limit: Number(textFlag(a.limit) ?? 50),
          ...(textFlag(a.search) !== undefined ? { words: textFlag(a.search) } : {}),
          ...(textFlag(a.event) !== undefined ? { event: textFlag(a.event) } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        }),
      "no audit index (run scone cas audit NAME first)",
    );
    if (data) {
      process.stdout.write(renderData(data, page));
      return EXIT_OK;
    }
    process.stdout.write(
      renderTable(
        ["SEQ", "TIME", "EVENT", "SESSION", "CHAIN"],
        page.entries.map((e) => [
          String(e.seq),
          formatTime(e.ts),
          e.event,
          e.session ?? "-",
          e.chainOk ? "ok" : "BROKEN",
        ]),
      ),
    );
    return EXIT_OK;
  }

  const [{ cliCasDriverSource }, verify] = await Promise.all([
    import("./cas-driver.ts"),
    import("../../flows/audit/verify.ts"),
  ]);
  const kube = await openKube(a);
  const source = await cliCasDriverSource(a, kube);
  const follow = a.follow === true;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (follow) process.once("SIGINT", onSignal);
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const { openStore } = await import("../../store/open.ts");
  const store = openStore({ stateDir: resolveStateDir({ flag: textFlag(a["state-dir"]), mode: "cli" }) });
  // The text the CLI verifies: the lines as read, kept up to the bound (past it there is no verdict, not a partial one).
  const kept: string[] = [];
  let keptBytes = 0;
  const result = await audit
    .readAuditLog(kube, {
      ...id,
      follow,
      store,
      signal: stop.signal,
      onLine: (line) => {
        if (keptBytes <= verify.MAX_VERIFIED_LOG_BYTES) {
          kept.push(line.raw);
          keptBytes += Buffer.byteLength(line.raw, "utf8") + 1;
        }
        if (!data) process.stdout.write(`${line.raw}\n`);
      },
    })
    .finally(() => store.close());
  process.off("SIGINT", onSignal);
  // The index's own link check (`breaks`) is no verdict: it is left out of what the command reports.
  const { breaks: _indexLinks, ...read } = result;
  let verification: Awaited<ReturnType<typeof verify.verifyAuditText>> | undefined;
  let problem: string | undefined;
  try {
    verification = await verify.verifyAuditText(source, id, kept.length === 0 ? "" : `${kept.join("\n")}\n`);
  } catch (err) {
    if (!(err instanceof verify.AuditLogTooLarge)) throw err;
    problem = err.message;
  }
  if (data) process.stdout.write(renderData(data, { ...read, ...(verification ? { verification } : { problem }) }));
  else {
    const range = read.entries > 0 ? ` (seq ${read.firstSeq}..${read.lastSeq})` : "";
    process.stderr.write(
      `${read.entries} entries${range}: ${read.inserted} newly indexed, ${read.skipped} already indexed\n`,
    );
    if (verification) {
      process.stderr.write(`${verify.describeVerdict(verification)}\n`);
      if (verification.details !== "") process.stderr.write(`${verification.details}\n`);
    } else process.stderr.write(`${problem}\n`);
  }
  return verification?.correct ? EXIT_OK : EXIT_FAILURE;
}
