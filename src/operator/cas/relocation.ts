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
  /** The nodes the StatefulSet is pinned to now (currentPlacement), if any. */
  readonly pinned?: readonly string[];
  /** Zone of the database volume (PV) if known; else the last zone seen on the old node. */
  readonly volumeZone: string | undefined;
  readonly lastKnownZone: (node: string) => string | undefined;
  /** When the operator first saw the node lost (ms since epoch). */
  readonly lostSinceMs: number | undefined;
  readonly nowMs: number;
  readonly backoffMs: number;
}

const nodeTrouble = (nodeName: string, nodes: readonly V1Node[]): string | undefined => {
  const node = nodes.find((n) => nodeNameOf(n) === nodeName);
  if (!node) return `node ${nodeName} no longer exists`;
  if (!isNodeReady(node)) {
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    return `node ${nodeName} is not Ready (${ready?.reason ?? ready?.status ?? "no status"})`;
  }
  return undefined;
};

/** Why the pod's node cannot run it any more, or undefined when it can (or the pod has no node yet). */
export function lostNodeReason(pod: V1Pod | undefined, nodes: readonly V1Node[]): string | undefined {
  const nodeName = pod?.spec?.nodeName;
  return nodeName ? nodeTrouble(nodeName, nodes) : undefined;
}

/**
 * The node CAS is leaving and why: the pod's node when it is lost; or, for a pod not yet placed, the node it is
 * pinned to when every pinned node is unusable (it was pinned there by an earlier loss with nowhere to go).
 */
function lostNode(input: RelocationInput): { node: string; why: string } | undefined {
  const nodeName = input.pod?.spec?.nodeName;
  if (nodeName) {
    const why = nodeTrouble(nodeName, input.nodes);
    return why === undefined ? undefined : { node: nodeName, why };
  }
  const pinned = input.pinned ?? [];
  const troubles = pinned.map((n) => nodeTrouble(n, input.nodes));
  if (pinned.length === 0 || troubles.some((t) => t === undefined)) return undefined;
  return { node: pinned[0] ?? "", why: `CAS is pinned to ${troubles.join(", ")}` };
}

export function planRelocation(input: RelocationInput): Relocation {
  const lost = lostNode(input);
  const nodeName = input.pod?.spec?.nodeName;
  if (!lost) return { kind: "placed", ...(nodeName ? { node: nodeName } : {}) };
  const oldNode = input.nodes.find((n) => nodeNameOf(n) === lost.node);
  const zone = input.volumeZone ?? zoneOf(oldNode) ?? input.lastKnownZone(lost.node);
  const eligibility = eligibleNodes(input.cas, input.nodes, {
    name: lost.node,
    ...(zone === undefined ? {} : { zone }),
  });
  if (eligibility.eligible.length === 0) return { kind: "stuck", node: lost.node, why: lost.why, eligibility };
  const since = input.lostSinceMs ?? input.nowMs;
  const waitMs = Math.max(0, since + input.backoffMs - input.nowMs);
  return { kind: "moving", node: lost.node, why: lost.why, eligibility, deletePod: waitMs === 0, waitMs };
}

/** The node names the StatefulSet's pod template is pinned to now (matchFields metadata.name), if any. */
export function currentPlacement(sts: V1StatefulSet | undefined): string[] | undefined {
  const terms =
    sts?.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const field = terms?.[0]?.matchFields?.find((f) => f.key === "metadata.name" && f.operator === "In");
  return field?.values ? [...field.values] : undefined;
}

/**
 * Pinning changes only when CAS must move; otherwise the pinning of an earlier move stays (no needless restart).
 * With nowhere to go CAS is pinned to the node it left, so that a recreated pod waits for that node (or for an
 * eligible one) instead of starting where its database cannot be opened.
 */
export function placementFor(relocation: Relocation, sts: V1StatefulSet | undefined): readonly string[] | undefined {
  if (relocation.kind === "moving") return relocation.eligibility.eligible;
  if (relocation.kind === "stuck") return currentPlacement(sts) ?? [relocation.node];
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
