// `scone operator history [KIND[/NAME]]`: the reconcile rows the operator recorded in its state store.

import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";
import { formatTime, renderTable } from "../table.ts";
import { withStore } from "./store-access.ts";

type ReconcileRecord = import("../../store/history.ts").ReconcileRecord;

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

export function renderHistory(rows: readonly ReconcileRecord[], output: string | undefined): string {
  if (isData(output)) return renderData(output, rows);
  if (rows.length === 0) return "No reconciles recorded.\n";
  return renderTable(
    ["STARTED", "KIND", "OBJECT", "RESULT", "DURATION", "TRIGGER", "ACTIONS", "ERROR"],
    rows.map((r) => [
      formatTime(r.startedAt),
      r.kind,
      r.namespace ? `${r.namespace}/${r.name}` : r.name,
      r.result,
      `${r.durationMs}ms`,
      r.trigger,
      r.actions.length === 0 ? "-" : r.actions.join("; "),
      r.error ?? "",
    ]),
  );
}

export async function run(ctx: SconeContext): Promise<void> {
  const { resourceDefinitions, SCONE_KINDS } = await import("../../resources/kinds.ts");
  const { listHistory } = await import("../../store/history.ts");
  const ref = typeof ctx.args.resource === "string" ? ctx.args.resource : undefined;
  const kinds = SCONE_KINDS.map((kind) => ({ ...resourceDefinitions[kind], kind }));
  const filter = ref ? parseResourceRef(ref, kinds) : {};
  const namespace = typeof ctx.args.namespace === "string" ? ctx.args.namespace : undefined;
  const limit = typeof ctx.args.limit === "string" ? Number(ctx.args.limit) : 50;
  const rows = await withStore(
    ctx.args["state-dir"],
    "operator",
    (store) => listHistory(store.db, { ...filter, namespace, limit }),
    "no operator history",
  );
  const output = typeof ctx.args.output === "string" ? ctx.args.output : undefined;
  process.stdout.write(renderHistory(rows, output));
}
