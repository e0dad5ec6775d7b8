// The status of a Vault (pure), per the upstream CRD: state, desiredReplicas, readyReplicas, sgxReplicaAlert
// (expected pods not running), initStatement and conditions. The state follows the rules shared with the SGXPlugin
// and LAS (health.ts): a problem is PENDING within the progress deadline of a new or rolled StatefulSet, then
// UNHEALTHY. initStatement is vault-init's statement (encrypted with the owner's key); the operator cannot produce
// it, so it keeps what was reported [I: upstream does not document where the operator reads it].
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { VAULT_REASON } from "../../resources/service-conditions.ts";
import type { Vault, VaultStatus } from "../../resources/vault.ts";
import type { Condition } from "../../runtime/conditions.ts";
import { assess, newestMs, type Problem } from "../kit/health.ts";

const isReady = (p: V1Pod): boolean =>
  p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** Why a pod is not ready, in the words a person acts on (unschedulable, a waiting container's reason). */
function podProblem(p: V1Pod): string | undefined {
  if (isReady(p)) return undefined;
  const name = p.metadata?.name ?? "";
  const unscheduled = p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unscheduled) return `${name} cannot be scheduled: ${unscheduled.message ?? unscheduled.reason ?? "no node fits"}`;
  const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  if (waiting?.reason) return `${name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`;
  return `${name} is ${p.status?.phase ?? "Pending"}`;
}

export interface VaultObserved {
  readonly statefulSet: V1StatefulSet | undefined;
  /** The Vault's pods (selected by its labels). */
  readonly pods: readonly V1Pod[];
  readonly now: Date;
}

export function deriveVaultStatus(vault: Vault, o: VaultObserved): VaultStatus {
  const sts = o.statefulSet;
  const desired = sts?.spec?.replicas ?? 1;
  const pods = o.pods.filter((p) => !p.metadata?.deletionTimestamp);
  const ready = sts ? Math.min(desired, pods.filter(isReady).length) : 0;
  const problems: Problem[] = [];
  if (!sts) problems.push({ reason: VAULT_REASON.StatefulSetMissing, message: "the StatefulSet is not there yet" });
  else if (ready < desired) {
    const detail = pods.map(podProblem).filter((d): d is string => d !== undefined);
    problems.push({
      reason: VAULT_REASON.PodsNotReady,
      message: `${desired - ready} of ${desired} vault pods not ready${detail.length ? `: ${detail.join("; ")}` : ""}`,
    });
  }
  const rollingOut =
    sts !== undefined &&
    ((sts.status?.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0) ||
      (sts.status?.updatedReplicas ?? 0) < desired ||
      (sts.status?.updateRevision !== undefined && sts.status.currentRevision !== sts.status.updateRevision));
  const settlingSinceMs = newestMs([
    sts?.metadata?.creationTimestamp,
    ...pods.map((p) => p.metadata?.creationTimestamp),
  ]);
  const { state, conditions } = assess({
    problems,
    rollingOut,
    settlingSinceMs: sts ? settlingSinceMs : o.now.getTime(),
    healthyMessage: `${ready} of ${desired} vault pods ready`,
    previous: vault.status?.conditions as Condition[] | undefined,
    generation: vault.metadata.generation,
    now: o.now,
  });
  return {
    state,
    desiredReplicas: desired,
    readyReplicas: ready,
    sgxReplicaAlert: Math.max(0, desired - ready),
    initStatement: vault.status?.initStatement ?? "",
    // The shared assessment speaks of DaemonSets; a Vault runs a StatefulSet.
    conditions: conditions.map((c) => ({ ...c, message: c.message.replaceAll("DaemonSet", "StatefulSet") })),
    ...(vault.metadata.generation === undefined ? {} : { observedGeneration: vault.metadata.generation }),
  };
}
