// Facts the CAS status is made of, each read from one kind of observed object (pure): why the pod is not ready, the
// health of the safety service's Deployment and PodDisruptionBudget, the snapshot state, the migration progress.
import type { V1Deployment, V1Node, V1Pod, V1PodDisruptionBudget, V1StatefulSet } from "@kubernetes/client-node";
import type { CAS } from "../../resources/cas.ts";
import { isRegisteredFor, migrationCandidates, nodeNameOf } from "./nodes.ts";
import type { CasSettings } from "./settings.ts";

export type SafetyHealth = "Healthy" | "Alert" | "Unhealthy" | "Disabled" | "Unknown";
export type SnapshotStatus = "Failed" | "Initializing" | "Ephemeral" | "Persisted" | "Disabled";

/** Why the pod is not ready, in a few words ("ImagePullBackOff", "Pending: 0/4 nodes are available …"). */
export function podTrouble(pod: V1Pod | undefined): string {
  if (!pod) return "pod does not exist";
  if (pod.metadata?.deletionTimestamp) return `pod ${pod.metadata.name} is being deleted`;
  const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
  if (waiting) return `pod ${pod.metadata?.name}: ${waiting}`;
  const unschedulable = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unschedulable)
    return `pod ${pod.metadata?.name} cannot be scheduled: ${unschedulable.message ?? unschedulable.reason}`;
  return `pod ${pod.metadata?.name} is ${pod.status?.phase ?? "Pending"}, not ready`;
}

export function deploymentHealth(d: V1Deployment | undefined, desired: number, minimum: number): SafetyHealth {
  if (!d) return "Unknown";
  const available = d.status?.availableReplicas ?? 0;
  if (available >= desired) return "Healthy";
  return available >= minimum ? "Alert" : "Unhealthy";
}

export function pdbHealth(pdb: V1PodDisruptionBudget | undefined): SafetyHealth {
  const s = pdb?.status;
  if (!pdb || !s || (s.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) return "Unknown";
  if ((s.currentHealthy ?? 0) < (s.desiredHealthy ?? 0)) return "Unhealthy";
  return (s.disruptionsAllowed ?? 0) > 0 ? "Healthy" : "Alert";
}

const HEALTH_ORDER: readonly SafetyHealth[] = ["Unhealthy", "Unknown", "Alert", "Healthy", "Disabled"];
export const leastHealthy = (a: SafetyHealth, b: SafetyHealth): SafetyHealth =>
  HEALTH_ORDER.indexOf(a) <= HEALTH_ORDER.indexOf(b) ? a : b;

/**
 * The snapshot state: failed when no check happened within two intervals (plus a minute of slack). Without an
 * observable check-up time only the latest snapshot is known, and its age says nothing (CAS makes no snapshot while
 * the database is unchanged; a failed snapshot stops CAS with a non-zero exit, SCONE-INTERFACE §12.5, which the
 * pod's readiness shows): a snapshot that exists is then enough.
 */
export function snapshotStatusOf(
  s: CasSettings,
  checkedAt: string | undefined,
  now: Date,
  takenAt?: string,
): { status: SnapshotStatus } {
  if (!s.snapshots.enabled) return { status: "Disabled" };
  const kept = { status: s.snapshots.persistence.enabled ? "Persisted" : "Ephemeral" } as const;
  if (!checkedAt) return takenAt ? kept : { status: "Initializing" };
  const ageSeconds = (now.getTime() - Date.parse(checkedAt)) / 1000;
  const limit = 2 * (Number.isFinite(s.snapshots.intervalSeconds) ? s.snapshots.intervalSeconds : 60) + 60;
  if (ageSeconds > limit) return { status: "Failed" };
  return kept;
}

export interface Migration {
  readonly num: number;
  readonly desired: number;
  readonly ratio: string;
  readonly nodeAlert: number;
  readonly controllerAlert: number;
  readonly unregistered: readonly string[];
}

export function migrationOf(
  cas: CAS,
  s: CasSettings,
  nodes: readonly V1Node[],
  backupController: V1Deployment | undefined,
): Migration {
  if (!s.backupController.enabled)
    return { num: 0, desired: 0, ratio: "Disabled", nodeAlert: 0, controllerAlert: 0, unregistered: [] };
  const candidates = migrationCandidates(cas, nodes);
  const registered = candidates.filter((n) => isRegisteredFor(n, cas));
  const available = backupController?.status?.availableReplicas ?? 0;
  const ratio = available < 1 && registered.length === 0 ? "Initializing" : `${registered.length}/${candidates.length}`;
  return {
    num: registered.length,
    desired: candidates.length,
    ratio,
    nodeAlert: candidates.length - registered.length,
    controllerAlert: Math.max(0, 1 - available),
    unregistered: candidates.filter((n) => !isRegisteredFor(n, cas)).map(nodeNameOf),
  };
}

export const isRollingOut = (sts: V1StatefulSet): boolean => {
  const st = sts.status;
  if (!st || (st.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0)) return true;
  return st.updateRevision !== undefined && st.currentRevision !== st.updateRevision;
};
