// How an uninstall reads: one line per deletion (absent objects only with --verbose), what is kept, the closing
// summary, and the JSON of `-o json`. Same verbs and exit codes as install's report (src/flows/install/report.ts).
import { describeRef } from "../install/plan.ts";
import { stepJson } from "../install/report.ts";
import type { UninstallPlan, UninstallStep } from "./plan.ts";

export function uninstallStepLine(step: UninstallStep, done: boolean): string {
  const verb = step.action === "absent" ? "absent" : done ? "deleted" : "delete";
  return `${verb.padEnd(10)} ${describeRef(step.ref)}${step.reason ? ` (${step.reason})` : ""}`;
}

/** Said before deleting CRDs: the API server deletes every resource of those kinds with them. */
export const CRD_WARNING =
  "deleting the CRDs deletes every CAS, LAS, SGXPlugin, Vault, policy and Scone resource in the cluster; their PVCs stay";

export function keptLines(plan: UninstallPlan): string[] {
  return plan.kept.map((k) => `kept       ${k}`);
}

export function uninstallSummary(plan: UninstallPlan, done: boolean): string {
  const n = plan.steps.filter((s) => s.action === "delete").length;
  if (n === 0) return "nothing to remove";
  return done ? `${n} deleted` : `${n} to delete; run again with --yes to delete them`;
}

export function uninstallJson(plan: UninstallPlan, mode: string): unknown {
  return {
    mode,
    refused: plan.refused,
    blockers: plan.blockers.map((r) => ({
      kind: r.kind,
      name: r.name,
      ...(r.namespace ? { namespace: r.namespace } : {}),
    })),
    steps: plan.steps.map(stepJson),
    kept: plan.kept,
  };
}
