// Pure readings of a CAS's status that several flows wait for.
import type { V1Pod } from "@kubernetes/client-node";
import type { CAS } from "../../resources/cas.ts";
import { CAS_CONDITION } from "../../resources/cas-conditions.ts";

/** The status describes the current spec (the operator has reconciled the latest generation). */
export const statusIsCurrent = (cas: CAS): boolean =>
  (cas.status?.observedGeneration ?? 0) >= (cas.metadata.generation ?? 0);

export const isHealthy = (cas: CAS | undefined): boolean =>
  cas !== undefined && statusIsCurrent(cas) && cas.status?.phase === "HEALTHY" && cas.status?.state === "HEALTHY";

/**
 * The status was computed for this pod (status.observedPodUID): after a move, the status of the pod that left
 * still reads HEALTHY until the operator has seen the new one. The pod's node is read from the pod itself.
 */
export const statusSeesPod = (cas: CAS | undefined, pod: V1Pod | undefined): boolean =>
  pod?.metadata?.uid !== undefined && cas?.status?.observedPodUID === pod.metadata.uid;

/** "phase EnablingMigration, state PENDING, migration 1/3" — what a wait reports while it is not there yet. */
export function describeStatus(cas: CAS | undefined): string {
  if (!cas) return "the CAS does not exist";
  const s = cas.status;
  if (!s) return "the CAS has no status yet (is the operator running?)";
  const parts = [`phase ${s.phase ?? "-"}`, `state ${s.state ?? "-"}`];
  if (s.migrationNodeRatio) parts.push(`migration ${s.migrationNodeRatio}`);
  if (!statusIsCurrent(cas)) parts.push("status not yet updated for the latest spec");
  const blocked = s.conditions?.find((c) => c.type === CAS_CONDITION.UpgradeBlocked && c.status === "True");
  if (blocked) parts.push(`upgrade blocked (${blocked.reason}): ${blocked.message}`);
  return parts.join(", ");
}

/** "n/n" with n > 0: every migration node has a registered backup. */
export function migrationComplete(ratio: string | undefined): boolean {
  const m = /^(\d+)\/(\d+)$/.exec(ratio ?? "");
  return m !== null && m[1] === m[2] && Number(m[2]) > 0;
}
