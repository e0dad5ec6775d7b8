// `scone operator history [KIND[/NAME]]`: the reconciles the operator recorded. By default read from the cluster
// (the leader's bounded record per resource, src/operator/reconcile-history), so every replica and a laptop see
// the same; with --state-dir from that state store (a local operator's, or the pod's own SQLite).

import { openKube } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";
import { formatTime, renderTable } from "../table.ts";
import { withStore } from "./store-access.ts";

/** The fields a row has from either source (store rows; cluster rows add by, repeats, lastAt). */
export interface HistoryRowLike {
  readonly startedAt: number;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly result: string;
  readonly durationMs: number;
  readonly trigger: string;
  readonly actions: readonly string[];
  readonly error: string | null;
  readonly repeats?: number;
}

export interface KindNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: readonly string[];
}

/** `cas/mycas`, `CAS/mycas`, `cas` → { kind: "CAS", name? }; kinds match by kind, plural, singular or short name. */
export function parseResourceRef(ref: string, kinds: readonly KindNames[]): { kind: string; name?: string } {
  const [typed = "", name, ...extra] = ref.split("/");
  if (extra.length > 0 || name === "")
    throw new CliError(`invalid resource '${ref}': expected KIND or KIND/NAME, e.g. cas/mycas`);
  const wanted = typed.toLowerCase();
  const found = kinds.find((k) =>
    [k.kind, k.plural, k.singular, ...(k.shortNames ?? [])].some((n) => n.toLowerCase() === wanted),
  );
  if (!found) {
    throw new CliError(`unknown kind '${typed}': expected one of ${kinds.map((k) => k.singular).join(", ")}`);
  }
  return name === undefined ? { kind: found.kind } : { kind: found.kind, name };
}

export function renderHistory(rows: readonly HistoryRowLike[], output: string | undefined): string {
  if (isData(output)) return renderData(output, rows);
  if (rows.length === 0) return "No reconciles recorded.\n";
  return renderTable(
    ["STARTED", "KIND", "OBJECT", "RESULT", "DURATION", "TRIGGER", "ACTIONS", "ERROR"],
    rows.map((r) => [
      formatTime(r.startedAt),
      r.kind,
      r.namespace ? `${r.namespace}/${r.name}` : r.name,
      (r.repeats ?? 1) > 1 ? `${r.result} ×${r.repeats}` : r.result,
      `${r.durationMs}ms`,
      r.trigger,
      r.actions.length === 0 ? "-" : r.actions.join("; "),
      r.error ?? "",
    ]),
  );
}

export async function run(ctx: SconeContext): Promise<void> {
  const { resourceDefinitions, SCONE_KINDS } = await import("../../resources/kinds.ts");
  const ref = typeof ctx.args.resource === "string" ? ctx.args.resource : undefined;
  const kinds = SCONE_KINDS.map((kind) => ({ ...resourceDefinitions[kind], kind }));
  const filter = ref ? parseResourceRef(ref, kinds) : {};
  const namespace = typeof ctx.args.namespace === "string" ? ctx.args.namespace : undefined;
  const limit = typeof ctx.args.limit === "string" ? Number(ctx.args.limit) : 50;
  const stateDir = ctx.args["state-dir"];
  const rows =
    typeof stateDir === "string"
      ? await fromStore(ctx, stateDir, { ...filter, namespace, limit })
      : await fromCluster(ctx, { ...filter, namespace, limit });
  const output = typeof ctx.args.output === "string" ? ctx.args.output : undefined;
  process.stdout.write(renderHistory(rows, output));
}

interface Filter {
  kind?: string;
  name?: string;
  namespace?: string;
  limit: number;
}

async function fromStore(ctx: SconeContext, stateDir: string, filter: Filter): Promise<HistoryRowLike[]> {
  const flag = ["kubeconfig", "context"].find((f) => typeof ctx.args[f] === "string");
  if (flag)
    throw new CliError(
      `--state-dir reads a state store and --${flag} a cluster: give one of them (without --state-dir the history is read from the cluster)`,
    );
  const { listHistory } = await import("../../store/history.ts");
  return withStore(stateDir, "operator", (store) => listHistory(store.db, filter), "no operator history");
}

async function fromCluster(ctx: SconeContext, filter: Filter): Promise<HistoryRowLike[]> {
  const { readClusterHistory } = await import("../../operator/reconcile-history/read.ts");
  try {
    const client = await openKube(ctx.args);
    return await readClusterHistory(client, filter);
  } catch (e) {
    throw new CliError(
      `cannot read the reconcile history from the cluster: ${e instanceof Error ? e.message : String(e)}`,
      1,
      "Pass --kubeconfig/--context for the cluster, or --state-dir DIR to read a local operator's state store.",
    );
  }
}
