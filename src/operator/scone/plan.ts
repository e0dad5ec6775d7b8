// The Scone reconciler's decisions (pure): what to do with an observed Scone, which components the stack reports,
// where the operator Deployment's node selector goes, and what a failure or a status change leads to.
// reconciler.ts observes, asks these functions, applies and reports.
import type { V1Deployment } from "@kubernetes/client-node";
import type { KubeObject } from "../../kube/types.ts";
import type { Scone, SconePhase, SconeStatus } from "../../resources/scone.ts";
import { SCONE_EVENT_REASON } from "../../resources/scone-conditions.ts";
import { DEFAULT_BACKUP_INTERVAL_SECONDS, lastBackupOf } from "./backup-schedule.ts";
import { placementApply } from "./operator-placement.ts";
import { afterFailure, nextSconePhase, retryDelayMs, retryWaitMs, type SconeEvent, waitingMessage } from "./phase.ts";
import { specHash } from "./render.ts";
import type { ComponentState, Placement, SconeOutcome, StackBackupFacts } from "./status.ts";

/** A stack component as the caches show it: its service state, and a CAS's phase and provisioning. */
export type Stateful = KubeObject & {
  status?: { state?: string; phase?: string; provisioned?: string; version?: string };
};

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  readonly now: Date;
}

/** What a reconcile of one observed Scone does. */
export type SconeDecision =
  | { readonly kind: "finalize" }
  /** Another Scone is this cluster's stack: one stack per cluster, the objects have fixed names. */
  | { readonly kind: "refuse"; readonly message: string }
  | { readonly kind: "unmanaged" }
  /** Stopped after the last allowed failure: only a change of the resource starts it again. */
  | { readonly kind: "stopped" }
  /** Our own status write woke us: keep the backoff since the last failure. */
  | { readonly kind: "backoff"; readonly waitMs: number }
  /** Deploy, working in `working` (a status write first when it differs from `phase`). */
  | { readonly kind: "deploy"; readonly phase: SconePhase; readonly working: SconePhase };

/** The state machine's event for a reconcile that deploys, if any (phase.ts). */
export function deployEvent(scone: Scone): SconeEvent | undefined {
  const prev = scone.status;
  const phase: SconePhase = prev?.phase ?? "Empty";
  if (phase === "Empty") return "finalizerAdded";
  if (phase === "Error") return prev?.observedGeneration !== scone.metadata.generation ? "specChanged" : "retry";
  return prev?.deployedSpec !== specHash(scone) ? "specChanged" : undefined;
}

/** Decides the reconcile of `scone`, given the name of the cluster's primary Scone. */
export function decideScone(
  scone: Scone,
  primaryName: string | undefined,
  managementState: string | undefined,
  retry: RetryPolicy,
): SconeDecision {
  if (scone.metadata.deletionTimestamp) return { kind: "finalize" };
  if (primaryName !== undefined && primaryName !== scone.metadata.name)
    return {
      kind: "refuse",
      message: `Scone ${primaryName} is this cluster's stack; a second Scone is not reconciled`,
    };
  if (managementState === "Unmanaged") return { kind: "unmanaged" };
  const prev = scone.status;
  const phase: SconePhase = prev?.phase ?? "Empty";
  if (phase === "Error" && prev?.observedGeneration === scone.metadata.generation) {
    if ((prev?.retryCount ?? 0) >= retry.maxRetries) return { kind: "stopped" };
    const waitMs = retryWaitMs(prev, retry.retryBaseMs, retry.now);
    if (waitMs > 0) return { kind: "backoff", waitMs };
  }
  const event = deployEvent(scone);
  return { kind: "deploy", phase, working: event ? nextSconePhase(phase, event) : phase };
}

/** What the stack manages, as the caches show it; with skipCas a CAS still being deleted is no longer one. */
export function stackComponents(
  found: { readonly plugin?: Stateful; readonly las?: Stateful; readonly cas?: Stateful },
  casName: string,
  skipCas: boolean,
): ComponentState[] {
  const state = (label: string, o: Stateful | undefined, detail?: string): ComponentState => ({
    name: label,
    state: o ? o.status?.state : "absent",
    ...(detail ? { detail } : {}),
  });
  const cas = skipCas ? undefined : found.cas;
  return [
    state("SGXPlugin", found.plugin),
    state("LAS", found.las),
    ...(cas ? [{ ...state(`CAS ${casName}`, cas, cas.status?.phase), informational: true }] : []),
  ];
}

/** What the backup-overdue alert compares: no schedule (interval 0) when the stack takes no backups. */
export function stackBackupFacts(scone: Scone, backupsAvailable: boolean): StackBackupFacts {
  return {
    lastCompleted: lastBackupOf(scone),
    intervalSeconds:
      backupsAvailable && !scone.spec?.skipCas ? (scone.spec?.backup?.interval ?? DEFAULT_BACKUP_INTERVAL_SECONDS) : 0,
  };
}

export interface PlacementPlan {
  /** The apply body for the Deployment's node selector, when it differs. */
  readonly body?: V1Deployment;
  readonly placement: Placement;
}

/** spec.operatorNodeSelector on the operator Deployment when it runs in the cluster; else only recorded. */
export function planPlacement(
  selector: Record<string, string> | undefined,
  deployment: V1Deployment | undefined,
  deploymentName: string,
): PlacementPlan {
  const hasSelector = selector !== undefined && Object.keys(selector).length > 0;
  if (!deployment)
    return {
      placement: hasSelector
        ? {
            kind: "recorded",
            reason: `no Deployment ${deploymentName} (the operator runs outside the cluster): operatorNodeSelector is applied once it exists`,
          }
        : { kind: "none" },
    };
  const body = placementApply(deployment, selector);
  const placement: Placement = hasSelector ? { kind: "applied", deployment: deploymentName } : { kind: "none" };
  return body ? { body, placement } : { placement };
}

/** The operator Deployment is not watched: look again now and then for the one the selector waits for. */
export const requeueAfterDeploy = (placement: Placement): number | undefined =>
  placement.kind === "recorded" ? 5 * 60_000 : undefined;

export interface FailurePlan {
  readonly outcome: SconeOutcome & { kind: "failed" };
  /** The last allowed failure: stop and wait for a change of the resource. */
  readonly terminal: boolean;
  readonly requeueAfterMs: number;
}

/** A failed deploy: counted, retried with backoff, and after maxRetries in a row, stopped. */
export function planFailure(message: string, previous: SconeStatus | undefined, retry: RetryPolicy): FailurePlan {
  const { retryCount, waiting } = afterFailure(previous?.retryCount, retry.maxRetries);
  const error = waiting ? waitingMessage(message, retry.maxRetries) : message;
  return {
    outcome: { kind: "failed", error, retryCount, waiting },
    terminal: waiting,
    requeueAfterMs: retryDelayMs(retryCount, retry.retryBaseMs),
  };
}

export interface PhaseChangeEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: typeof SCONE_EVENT_REASON.PhaseChanged;
  readonly message: string;
}

/** The Event a status write records: one per phase change, a Warning into Error with the error. */
export function phaseChangeEvent(
  before: SconePhase | undefined,
  after: SconePhase | undefined,
  outcome: SconeOutcome,
): PhaseChangeEvent | undefined {
  const from = before ?? "Empty";
  if (!after || after === from) return undefined;
  return {
    type: after === "Error" ? "Warning" : "Normal",
    reason: SCONE_EVENT_REASON.PhaseChanged,
    message: `${from} → ${after}${outcome.kind === "failed" ? `: ${outcome.error}` : ""}`,
  };
}

/** The Event message of an uninstall: what went, and what is always kept. */
export const uninstalledMessage = (removed: readonly string[]): string =>
  `removed ${removed.join(", ") || "nothing"}; kept: the CAS database PVCs, snapshots and the backup bucket`;
