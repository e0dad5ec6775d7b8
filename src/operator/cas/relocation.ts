// What to do when the node of NAME-0 is lost (pure): pin the StatefulSet to the nodes CAS may move to and, after a
// backoff, delete the stuck pod so the StatefulSet controller recreates it there. With no eligible node nothing is
// deleted (the pod would have nowhere to go) and the status names every node and why it cannot take CAS.
import type { V1Node, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { CAS } from "../../resources/cas.ts";
import { type Eligibility, eligibleNodes, isNodeReady, nodeNameOf, zoneOf } from "./nodes.ts";

/** Default wait between noticing the lost node and deleting the pod (status.mainPodDeletionAttemptBackoffTime). */
export const POD_DELETION_BACKOFF_MS = 60_000;

export type Relocation =
  | { readonly kind: "placed"; readonly node?: string }
  | {
      readonly kind: "moving";
      readonly node: string;
      readonly why: string;
      readonly eligibility: Eligibility;
      /** Delete the pod now (the backoff has passed). */
      readonly deletePod: boolean;
      /** Milliseconds until the pod may be deleted (0 when deletePod). */
      readonly waitMs: number;
    }
  | { readonly kind: "stuck"; readonly node: string; readonly why: string; readonly eligibility: Eligibility };

export interface RelocationInput {
  readonly cas: CAS;
  readonly pod: V1Pod | undefined;
  readonly nodes: readonly V1Node[];
  /** Zone of the database volume (PV) if known; else the last zone seen on the old node. */
  readonly volumeZone: string | undefined;
  readonly lastKnownZone: (node: string) => string | undefined;
  /** When the operator first saw the node lost (ms since epoch). */
  readonly lostSinceMs: number | undefined;
  readonly nowMs: number;
  readonly backoffMs: number;
}

/** Why the pod's node cannot run it any more, or undefined when it can (or the pod has no node yet). */
export function lostNodeReason(pod: V1Pod | undefined, nodes: readonly V1Node[]): string | undefined {
  const nodeName = pod?.spec?.nodeName;
  if (!nodeName) return undefined;
  const node = nodes.find((n) => nodeNameOf(n) === nodeName);
  if (!node) return `node ${nodeName} no longer exists`;
  if (!isNodeReady(node)) {
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    return `node ${nodeName} is not Ready (${ready?.reason ?? ready?.status ?? "no status"})`;
  }
  return undefined;
}

export function planRelocation(input: RelocationInput): Relocation {
  const { pod, nodes } = input;
  const nodeName = pod?.spec?.nodeName;
  const why = lostNodeReason(pod, nodes);
  if (!nodeName || why === undefined) return { kind: "placed", ...(nodeName ? { node: nodeName } : {}) };
  const oldNode = nodes.find((n) => nodeNameOf(n) === nodeName);
  const zone = input.volumeZone ?? zoneOf(oldNode) ?? input.lastKnownZone(nodeName);
  const eligibility = eligibleNodes(input.cas, nodes, { name: nodeName, ...(zone === undefined ? {} : { zone }) });
  if (eligibility.eligible.length === 0) return { kind: "stuck", node: nodeName, why, eligibility };
  const since = input.lostSinceMs ?? input.nowMs;
  const waitMs = Math.max(0, since + input.backoffMs - input.nowMs);
  return { kind: "moving", node: nodeName, why, eligibility, deletePod: waitMs === 0, waitMs };
}

/** The node names the StatefulSet's pod template is pinned to now (matchFields metadata.name), if any. */
export function currentPlacement(sts: V1StatefulSet | undefined): string[] | undefined {
  const terms =
    sts?.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const field = terms?.[0]?.matchFields?.find((f) => f.key === "metadata.name" && f.operator === "In");
  return field?.values ? [...field.values] : undefined;
}

/** Pinning changes only when CAS must move; otherwise the pinning of an earlier move stays (no needless restart). */
export function placementFor(relocation: Relocation, sts: V1StatefulSet | undefined): readonly string[] | undefined {
  if (relocation.kind === "moving") return relocation.eligibility.eligible;
  return currentPlacement(sts);
}

/** Zone of a PV from its labels or its node affinity (topology.kubernetes.io/zone In [zone]). */
export function zoneOfVolume(pv: {
  metadata?: { labels?: Record<string, string> };
  spec?: {
    nodeAffinity?: {
      required?: {
        nodeSelectorTerms?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[];
      };
    };
  };
}): string | undefined {
  const label = pv.metadata?.labels?.["topology.kubernetes.io/zone"];
  if (label) return label;
  for (const term of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [])
    for (const e of term.matchExpressions ?? [])
      if (e.key === "topology.kubernetes.io/zone" && e.operator === "In" && e.values?.length === 1) return e.values[0];
  return undefined;
}
