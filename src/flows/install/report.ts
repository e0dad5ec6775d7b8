// How an install's steps read: one plain line per step (a pipe or CI log gets the same text as a terminal, which
// only adds colour), field changes under a step with --verbose, a closing summary, and the JSON of `-o json`.
import type { ObjectRef } from "../../kube/types.ts";
import type { InstallOutcome, PullCheckOutcome } from "./execute.ts";
import { describeRef, type PlanStep, type StepAction } from "./plan.ts";

/** Exit code of report mode when something differs from the desired state (0: nothing differs). */
export const EXIT_DIFFERS = 3;

const PAST: Record<StepAction, string> = {
  create: "created",
  update: "updated",
  unchanged: "unchanged",
  delete: "deleted",
  patch: "patched",
  missing: "missing",
};
const PLANNED: Record<StepAction, string> = {
  create: "create",
  update: "update",
  unchanged: "unchanged",
  delete: "delete",
  patch: "patch",
  missing: "missing",
};
const COLOUR: Partial<Record<StepAction, string>> = {
  create: "\x1b[32m",
  update: "\x1b[33m",
  delete: "\x1b[31m",
  patch: "\x1b[33m",
  missing: "\x1b[31m",
};
const RESET = "\x1b[0m";
const WIDTH = 10;

export interface LineOptions {
  readonly done: boolean;
  readonly verbose: boolean;
  readonly colour: boolean;
}

/** The text of one step: `update    Deployment ns/name (2 fields: a, b)`, changes indented with --verbose. */
export function stepLines(step: PlanStep, o: LineOptions): string[] {
  const verb = (o.done ? PAST : PLANNED)[step.action].padEnd(WIDTH);
  const coloured = o.colour && COLOUR[step.action] ? `${COLOUR[step.action]}${verb}${RESET}` : verb;
  const notes: string[] = [];
  if (step.reason) notes.push(step.reason);
  if (!o.verbose && step.changes.length > 0) {
    notes.push(
      `${step.changes.length === 1 ? "1 field" : `${step.changes.length} fields`}: ${step.changes.map((c) => c.path).join(", ")}`,
    );
  }
  const head = `${coloured} ${describeRef(step.ref)}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
  if (!o.verbose) return [head];
  return [
    head,
    ...step.changes.map((c) =>
      c.from === undefined ? `    ${c.path}: changed (value not shown)` : `    ${c.path}: ${c.from} → ${c.to}`,
    ),
  ];
}

function count(steps: readonly PlanStep[], action: StepAction): number {
  return steps.filter((s) => s.action === action).length;
}

/** The pull check's line, in the step column layout: what it will prove, that it passed (and where), or skipped. */
export function pullCheckLine(check: PullCheckOutcome): string {
  switch (check.state) {
    case "planned":
      return `${"check".padEnd(WIDTH)} image ${check.image} (a pod pulls it on a node where the operator may run, before the CRDs and the operator change; --no-pull-check skips this)`;
    case "pulled":
      return `${"pulled".padEnd(WIDTH)} image ${check.image}${check.node ? ` (pull-check pod on node ${check.node})` : ""}`;
    case "skipped":
      return `${"skipped".padEnd(WIDTH)} the pull check of image ${check.image} (--no-pull-check)`;
    default:
      return `${"unchanged".padEnd(WIDTH)} image ${check.image} (the operator Deployment is not changed: no pull check)`;
  }
}

/** The closing line: what was (or would be) done. */
export function summaryLine(outcome: InstallOutcome): string {
  const s = outcome.steps;
  const parts: string[] = [];
  const done = outcome.mode !== "report";
  for (const action of ["create", "update", "delete", "patch", "missing", "unchanged"] as const) {
    const n = count(s, action);
    const planned = action === "unchanged" || action === "missing" ? action : `to ${action}`;
    if (n > 0) parts.push(`${n} ${done ? PAST[action] : planned}`);
  }
  const tail = !done && outcome.differs ? "; run again with --reconcile to apply" : "";
  return `${parts.join(", ")}${tail}`;
}

/** `-o json`: the plan or its results, with no object bodies (they may hold credentials). */
export function outcomeJson(outcome: InstallOutcome): unknown {
  return {
    mode: outcome.mode,
    differs: outcome.differs,
    warnings: outcome.warnings,
    ...(outcome.pullCheck ? { pullCheck: outcome.pullCheck } : {}),
    steps: outcome.steps.map((s) => ({
      ...stepJson(s),
      ...(s.changes.length > 0 ? { changes: s.changes } : {}),
    })),
  };
}

/** One step of `-o json` (install's and uninstall's): what is done to which object, and why. */
export function stepJson(s: {
  readonly phase: string;
  readonly action: string;
  readonly ref: ObjectRef;
  readonly reason?: string;
}): Record<string, unknown> {
  return {
    phase: s.phase,
    action: s.action,
    kind: s.ref.kind,
    name: s.ref.name,
    ...(s.ref.namespace ? { namespace: s.ref.namespace } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
  };
}
