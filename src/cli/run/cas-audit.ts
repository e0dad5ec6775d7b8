// `scone cas audit NAME -n NS [-f]` (upstream `kubectl audit cas`): prints the audit log of NAME-0, verifies its
// chain and indexes it in the state store. `--search "words" [--event E] [--since T] [--until T]` queries that index.

import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

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

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const id = { name: str(a.name) ?? "cas", namespace: str(a.namespace) ?? "default" };
  const [{ withStore }, audit] = await Promise.all([import("./store-access.ts"), import("../../flows/audit/flow.ts")]);
  const data = isData(a.output) ? a.output : undefined;
  const searching = ["search", "event", "since", "until"].some((f) => str(a[f]) !== undefined);
  if (searching) {
    const from = time("since", str(a.since));
    const to = time("until", str(a.until));
    const { renderTable, formatTime } = await import("../table.ts");
    const page = await withStore(
      a["state-dir"],
      "cli",
      (store) =>
        audit.searchAuditIndex(store.db, {
          ...id,
          limit: Number(str(a.limit) ?? 50),
          ...(str(a.search) !== undefined ? { words: str(a.search) } : {}),
          ...(str(a.event) !== undefined ? { event: str(a.event) } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        }),
      "no audit index (run scone cas audit NAME first)",
    );
    if (data) {
      process.stdout.write(renderData(data, page));
      return;
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
    return;
  }

  const { KubeClient } = await import("../../kube/client.ts");
  const kube = await KubeClient.load({ kubeconfig: str(a.kubeconfig), context: str(a.context) });
  const follow = a.follow === true;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (follow) process.once("SIGINT", onSignal);
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const { openStore } = await import("../../store/open.ts");
  const store = openStore({ stateDir: resolveStateDir({ flag: str(a["state-dir"]), mode: "cli" }) });
  const result = await audit
    .readAuditLog(kube, {
      ...id,
      follow,
      store,
      signal: stop.signal,
      onLine: (line) => {
        if (data) return;
        process.stdout.write(`${line.raw}\n`);
        if (line.kind === "entry" && !line.ok)
          process.stderr.write(`chain break at seq ${line.entry.seq}: ${line.problem}\n`);
        if (line.kind === "malformed") process.stderr.write(`chain break: not an audit entry (${line.problem})\n`);
      },
    })
    .finally(() => store.close());
  process.off("SIGINT", onSignal);
  if (data) process.stdout.write(renderData(data, result));
  else {
    const range = result.entries > 0 ? ` (seq ${result.firstSeq}..${result.lastSeq})` : "";
    process.stderr.write(
      `${result.entries} entries${range}: ${result.inserted} newly indexed, ${result.skipped} already indexed; ` +
        `${result.breaks.length === 0 ? "chain verified" : `${result.breaks.length} chain break(s)`}\n`,
    );
  }
  if (result.breaks.length > 0) process.exitCode = 1;
}
