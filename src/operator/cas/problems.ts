// What is wrong with a CAS, one finder per concern (pure): the pod, what CAS answered, the spec, the disruption
// budget, migration, snapshots and the safety service. deriveCasStatus concatenates them in this order; the first
// problem names Ready's reason and the failing ones make up Degraded (as kit/health.ts's assess() does).
import type { V1PodDisruptionBudget, V1StatefulSet } from "@kubernetes/client-node";
import { CAS_REASON } from "../../resources/cas-conditions.ts";
import { type Migration, podTrouble, type SafetyHealth, type SnapshotStatus } from "./facts.ts";
import type { Provisioned } from "./probe.ts";
import type { Relocation } from "./relocation.ts";

export interface Problem {
  readonly reason: string;
  readonly message: string;
  /** unhealthy at once; otherwise PENDING while settling, UNHEALTHY after the progress deadline. */
  readonly severity: "unhealthy" | "settling" | "waiting";
}

export interface PodFacts {
  readonly statefulSet: V1StatefulSet | undefined;
  readonly pod: Parameters<typeof podTrouble>[0];
  /** Ready and not on a lost node. */
  readonly podReady: boolean;
  readonly relocation: Relocation | undefined;
}

export function podProblems({ statefulSet, pod, podReady, relocation: r }: PodFacts): Problem[] {
  if (!statefulSet)
    return [{ reason: CAS_REASON.Installing, message: "the CAS StatefulSet does not exist yet", severity: "settling" }];
  if (podReady) return [];
  if (r && r.kind !== "placed")
    return [
      r.kind === "stuck"
        ? {
            reason: CAS_REASON.NoEligibleNode,
            message: `${r.why}; no eligible node to move CAS to`,
            severity: "unhealthy",
          }
        : { reason: CAS_REASON.NodeLost, message: `${r.why}; moving CAS`, severity: "unhealthy" },
    ];
  return [{ reason: CAS_REASON.PodNotReady, message: podTrouble(pod), severity: "settling" }];
}

/** What the CAS said this round (probe.ts) and what the status keeps of earlier rounds. */
export interface ProbeFacts {
  /** CAS was asked this round (its pod is ready and the probe ran). */
  readonly asked: boolean;
  /** undefined: CAS was not asked (its pod is not ready); false also when the probe did not run. */
  readonly reachable: boolean | undefined;
  readonly error?: string | undefined;
  /** undefined: CAS did not answer, so it could not be asked for an attestation report. */
  readonly attested: boolean | undefined;
  readonly attestationReason?: string | undefined;
  readonly provisioned: Provisioned;
}

export function probeProblems(p: ProbeFacts): Problem[] {
  const problems: Problem[] = [];
  if (p.asked && p.reachable === false)
    problems.push({
      reason: CAS_REASON.CASUnreachable,
      message: `CAS does not answer: ${p.error ?? "no answer"}`,
      severity: "unhealthy",
    });
  if (p.attested === false)
    problems.push({
      reason: CAS_REASON.AttestationFailed,
      message: `CAS cannot be attested: ${p.attestationReason ?? "no reason given"}`,
      severity: "unhealthy",
    });
  if (p.provisioned !== "Yes")
    problems.push({
      reason: CAS_REASON.NotProvisioned,
      message:
        p.provisioned === "No"
          ? "CAS is not provisioned yet: run `scone cas provision` (or `kubectl provision cas`)"
          : "whether CAS is provisioned is not known yet",
      severity: "waiting",
    });
  return problems;
}

export function specProblems(notAllowed: readonly string[] = [], specIssues: readonly string[] = []): Problem[] {
  const problems: Problem[] = [];
  if (notAllowed.length)
    problems.push({ reason: CAS_REASON.NotAllowed, message: notAllowed.join("; "), severity: "unhealthy" });
  if (specIssues.length)
    problems.push({ reason: CAS_REASON.InvalidSpec, message: specIssues.join("; "), severity: "unhealthy" });
  return problems;
}

/** status.podDisruptionBudgetAlert: 1 when the CAS pod may be evicted (or no budget exists), else 0. */
export const podDisruptionBudgetAlertOf = (pdb: V1PodDisruptionBudget | undefined): number =>
  pdb ? Math.min(1, Math.max(0, pdb.status?.disruptionsAllowed ?? 0)) : 1;

export function disruptionBudgetProblems(pdb: V1PodDisruptionBudget | undefined): Problem[] {
  if (podDisruptionBudgetAlertOf(pdb) === 0) return [];
  return [
    {
      reason: CAS_REASON.EvictionAllowed,
      message: pdb ? "the CAS PodDisruptionBudget allows an eviction" : "the CAS PodDisruptionBudget does not exist",
      severity: "settling",
    },
  ];
}

export function migrationProblems(enabled: boolean, m: Migration): Problem[] {
  if (!enabled) return [];
  const problems: Problem[] = [];
  if (m.controllerAlert > 0)
    problems.push({
      reason: CAS_REASON.BackupControllerUnavailable,
      message: "the backup controller is not running",
      severity: "settling",
    });
  if (m.desired === 0)
    problems.push({
      reason: CAS_REASON.NoMigrationNodes,
      message:
        "no node is schedulable and labelled las.scontain.com/capable, las.scontain.com/ok and sgx.intel.com/capable",
      severity: "waiting",
    });
  else if (m.nodeAlert > 0)
    problems.push({
      reason: CAS_REASON.EnablingMigration,
      message: `${m.nodeAlert} of ${m.desired} nodes have no registered backup CAS yet: ${m.unregistered.join(", ")}`,
      severity: "waiting",
    });
  return problems;
}

export function snapshotProblems(
  status: SnapshotStatus,
  checkupTimestamp: string | undefined,
  interval: string,
): Problem[] {
  if (status !== "Failed") return [];
  return [
    {
      reason: CAS_REASON.SnapshotFailure,
      // The time of the last check, not the age: the message must not change while nothing else does.
      message: `no database snapshot check since ${checkupTimestamp} (interval ${interval})`,
      severity: "unhealthy",
    },
  ];
}

export interface SafetyServiceFacts {
  readonly status: SafetyHealth;
  readonly deployment: SafetyHealth;
  readonly pdb: SafetyHealth;
}

export function safetyServiceProblems(ss: SafetyServiceFacts): Problem[] {
  if (ss.status !== "Unhealthy" && ss.status !== "Unknown") return [];
  return [
    {
      reason: CAS_REASON.SafetyServiceUnhealthy,
      message: `the safety service is ${ss.status} (Deployment ${ss.deployment}, PodDisruptionBudget ${ss.pdb})`,
      severity: "settling",
    },
  ];
}

/** The problems that make the state UNHEALTHY: unhealthy ones at once, settling ones after the deadline. */
export const failingProblems = (problems: readonly Problem[], settling: boolean): Problem[] =>
  problems.filter((p) => p.severity === "unhealthy" || (p.severity === "settling" && !settling));
