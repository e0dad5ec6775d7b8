// The status of a Scone resource after each kind of reconcile (pure): phase and lastSuccessPhase from the state
// machine, the deployed spec hash and version, the retry count, and the Ready / Progressing / Degraded conditions
// (plus OperatorPlacement: where spec.operatorNodeSelector went). lastUpdate moves only when something else in the
// status changes, so a steady state writes nothing.
import { STACK_GAUGES } from "../../metrics/catalog.ts";
import type { SconePhase, SconeStatus } from "../../resources/scone.ts";
import { SCONE_CONDITION, SCONE_REASON } from "../../resources/scone-conditions.ts";
import { type Condition, type ConditionInput, setConditions } from "../../runtime/conditions.ts";
import { canonicalJson } from "../../runtime/drift.ts";
import { lastSuccessPhaseAfter } from "./phase.ts";

/** The service state of one stack component, as its own resource reports it. */
export interface ComponentState {
  readonly name: string;
  /** HEALTHY / PENDING / UNHEALTHY, or undefined before its controller reported. */
  readonly state: string | undefined;
  readonly detail?: string;
  /** Reported but not waited for (an unprovisioned CAS stays PENDING until its owner provisions it). */
  readonly informational?: boolean;
}

export type Placement =
  | { readonly kind: "applied"; readonly deployment: string }
  | { readonly kind: "recorded"; readonly reason: string }
  | { readonly kind: "none" };

export type SconeOutcome =
  | {
      readonly kind: "progress";
      /** The phase being worked in (Creating / Updating / Repairing / Error for a retry). */
      readonly phase: SconePhase;
      /** What it waits for, when not simply working (e.g. WaitingForCasUpgrade). */
      readonly waiting?: { readonly reason: string; readonly message: string };
    }
  | {
      readonly kind: "deployed";
      readonly specHash: string;
      readonly version: string;
      readonly components: readonly ComponentState[];
      readonly placement: Placement;
      /** The BackupScheduled condition (backup-schedule.ts). */
      readonly backup?: ConditionInput;
    }
  | { readonly kind: "failed"; readonly error: string; readonly retryCount: number; readonly waiting: boolean }
  | { readonly kind: "unmanaged" }
  /** Another Scone is this cluster's stack (the oldest one is reconciled). */
  | { readonly kind: "refused"; readonly message: string };

export interface StatusInput {
  readonly previous: SconeStatus | undefined;
  readonly generation: number | undefined;
  readonly now: Date;
}

const PHASE_MESSAGES: Partial<Record<SconePhase, string>> = {
  Creating: "installing LAS, SGX plugin and CAS",
  Updating: "applying a changed spec",
  Repairing: "applying the changed spec after an error",
  Error: "retrying after an error",
};

function describeComponents(components: readonly ComponentState[]): string {
  return components
    .map((c) => `${c.name} ${c.state ?? "not reported yet"}${c.detail ? ` (${c.detail})` : ""}`)
    .join(", ");
}

function placementCondition(p: Placement): ConditionInput | undefined {
  if (p.kind === "applied")
    return {
      type: SCONE_CONDITION.OperatorPlacement,
      status: "True",
      reason: SCONE_REASON.Applied,
      message: `operatorNodeSelector applied to Deployment ${p.deployment}`,
    };
  if (p.kind === "recorded")
    return {
      type: SCONE_CONDITION.OperatorPlacement,
      status: "False",
      reason: SCONE_REASON.Recorded,
      message: p.reason,
    };
  return undefined;
}

function conditionsFor(outcome: SconeOutcome, phase: SconePhase): ConditionInput[] {
  switch (outcome.kind) {
    case "unmanaged":
      return [
        {
          type: SCONE_CONDITION.Ready,
          status: "Unknown",
          reason: SCONE_REASON.Unmanaged,
          message: "managementState is Unmanaged: the operator changes nothing in the stack",
        },
        { type: SCONE_CONDITION.Progressing, status: "False", reason: SCONE_REASON.Unmanaged, message: "hands off" },
        { type: SCONE_CONDITION.Degraded, status: "False", reason: SCONE_REASON.Unmanaged, message: "" },
      ];
    case "refused":
      return [
        { type: SCONE_CONDITION.Ready, status: "False", reason: SCONE_REASON.NotReconciled, message: outcome.message },
        {
          type: SCONE_CONDITION.Progressing,
          status: "False",
          reason: SCONE_REASON.NotReconciled,
          message: outcome.message,
        },
        {
          type: SCONE_CONDITION.Degraded,
          status: "True",
          reason: SCONE_REASON.NotReconciled,
          message: outcome.message,
        },
      ];
    case "progress": {
      const reason = outcome.waiting?.reason ?? phase;
      const message = outcome.waiting?.message ?? PHASE_MESSAGES[phase] ?? phase;
      return [
        { type: SCONE_CONDITION.Ready, status: "False", reason, message },
        { type: SCONE_CONDITION.Progressing, status: "True", reason, message },
      ];
    }
    case "failed":
      return [
        { type: SCONE_CONDITION.Ready, status: "False", reason: SCONE_REASON.Error, message: outcome.error },
        outcome.waiting
          ? {
              type: SCONE_CONDITION.Progressing,
              status: "False",
              reason: SCONE_REASON.WaitingForChange,
              message: outcome.error,
            }
          : {
              type: SCONE_CONDITION.Progressing,
              status: "True",
              reason: SCONE_REASON.Retrying,
              message: `attempt ${outcome.retryCount} failed; retrying`,
            },
        {
          type: SCONE_CONDITION.Degraded,
          status: "True",
          reason: outcome.waiting ? "WaitingForChange" : "ReconcileFailed",
          message: outcome.error,
        },
      ];
    case "deployed": {
      const text = describeComponents(outcome.components);
      const unhealthy = outcome.components.filter((c) => c.state === "UNHEALTHY");
      const settling = outcome.components.some((c) => !c.informational && c.state !== "HEALTHY");
      const placement = placementCondition(outcome.placement);
      return [
        { type: SCONE_CONDITION.Ready, status: "True", reason: SCONE_REASON.Deployed, message: text },
        settling
          ? {
              type: SCONE_CONDITION.Progressing,
              status: "True",
              reason: SCONE_REASON.ComponentsSettling,
              message: text,
            }
          : { type: SCONE_CONDITION.Progressing, status: "False", reason: SCONE_REASON.Deployed, message: "" },
        unhealthy.length > 0
          ? {
              type: SCONE_CONDITION.Degraded,
              status: "True",
              reason: SCONE_REASON.ComponentUnhealthy,
              message: describeComponents(unhealthy),
            }
          : { type: SCONE_CONDITION.Degraded, status: "False", reason: SCONE_REASON.Deployed, message: "" },
        ...(placement ? [placement] : []),
        ...(outcome.backup ? [outcome.backup] : []),
      ];
    }
  }
}

function phaseOf(outcome: SconeOutcome, previous: SconePhase): SconePhase {
  switch (outcome.kind) {
    case "progress":
      return outcome.phase;
    case "deployed":
      return "Running";
    case "failed":
      return "Error";
    case "unmanaged":
    case "refused":
      return previous;
  }
}

/** The new status; returns the previous object itself when nothing but lastUpdate would change. */
export function sconeStatusAfter(outcome: SconeOutcome, input: StatusInput): SconeStatus {
  const prev = input.previous ?? {};
  const prevPhase = prev.phase ?? "Empty";
  const phase = phaseOf(outcome, prevPhase);
  let conditions: Condition[] = setConditions(
    prev.conditions as Condition[] | undefined,
    conditionsFor(outcome, phase),
    input.generation,
    input.now,
  );
  if (outcome.kind === "deployed" && outcome.placement.kind === "none")
    conditions = conditions.filter((c) => c.type !== "OperatorPlacement");
  const lastSuccessPhase = lastSuccessPhaseAfter(prevPhase, phase, prev.lastSuccessPhase);
  const next: SconeStatus = {
    ...prev,
    phase,
    conditions,
    ...(input.generation === undefined ? {} : { observedGeneration: input.generation }),
    ...(lastSuccessPhase ? { lastSuccessPhase } : {}),
  };
  if (outcome.kind === "deployed") {
    next.deployedSpec = outcome.specHash;
    next.deployedVersion = outcome.version;
    next.retryCount = 0;
  } else if (outcome.kind === "failed") {
    next.retryCount = outcome.retryCount;
  } else if (outcome.kind === "progress" && phase === "Repairing") {
    next.retryCount = 0;
  }
  const { lastUpdate: _a, ...a } = next;
  const { lastUpdate: _b, ...b } = prev;
  if (canonicalJson(a) === canonicalJson(b)) return prev;
  return { ...next, lastUpdate: input.now.toISOString().replace(/\.\d{3}Z$/, "Z") };
}

/** Gauges of the stack (labels cr_name, cr_namespace ""), for alert rules on a stack that stopped. */
export { STACK_GAUGES };

/** The stack's scheduled backups as the gauges show them: interval 0 when the stack takes none. */
export interface StackBackupFacts {
  readonly lastCompleted: Date | undefined;
  readonly intervalSeconds: number;
}

export function stackMetricValues(s: SconeStatus, backup: StackBackupFacts): Record<keyof typeof STACK_GAUGES, number> {
  const waiting = s.conditions?.some((c) => c.type === "Degraded" && c.reason === "WaitingForChange") ?? false;
  return {
    state: s.phase === "Running" ? 1 : s.phase === "Error" ? -1 : 0,
    retryCount: s.retryCount ?? 0,
    waiting: waiting ? 1 : 0,
    lastBackupTimestamp: backup.lastCompleted ? Math.floor(backup.lastCompleted.getTime() / 1000) : 0,
    backupInterval: backup.intervalSeconds,
  };
}
