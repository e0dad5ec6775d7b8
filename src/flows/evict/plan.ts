// `scone cas evict` decisions (pure): which node CAS leaves, whether any node may take it (SCONE-STACK "Moving CAS off
// a node": same zone, registered for backup, LAS/SGX labels, schedulable), and the marker that makes the move
// resumable. The marker is an annotation on the CAS resource — in the cluster, not in a local file — recording the
// node being left and whether this flow cordoned it (so only a node we cordoned is uncordoned at the end).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describeRejections, eligibleNodes, zoneOf } from "../../operator/cas/nodes.ts";
import type { CAS } from "../../resources/cas.ts";

export const EVICT_ANNOTATION = "cas.scone.cloud/evicting";

export interface EvictMarker {
  /** The node CAS is moving away from. */
  readonly from: string;
  /** true: the node was schedulable before; the flow cordoned it and uncordons it when CAS runs elsewhere. */
  readonly uncordon: boolean;
}

export function readEvictMarker(cas: CAS | undefined): EvictMarker | undefined {
  const text = cas?.metadata.annotations?.[EVICT_ANNOTATION];
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as { from?: unknown; uncordon?: unknown };
    if (typeof value.from === "string" && value.from !== "" && typeof value.uncordon === "boolean") {
      return { from: value.from, uncordon: value.uncordon };
    }
  } catch {
    // a hand-edited value: treated as no marker (a fresh move is planned)
  }
  return undefined;
}

export const serializeEvictMarker = (m: EvictMarker): string => JSON.stringify({ from: m.from, uncordon: m.uncordon });

export interface EvictInput {
  readonly cas: CAS | undefined;
  readonly pod: V1Pod | undefined;
  readonly nodes: readonly V1Node[];
  readonly volumeZone: string | undefined;
  /** --node: the node to move away from (default: where NAME-0 runs). */
  readonly requestedNode?: string;
}

export type EvictPlan =
  | { readonly action: "refuse"; readonly reason: string }
  /** `resuming`: a marker of an earlier run was found; `podOnSource`: NAME-0 still runs on the node being left. */
  | {
      readonly action: "move";
      readonly from: string;
      readonly eligible: readonly string[];
      readonly resuming: boolean;
      readonly podOnSource: boolean;
      readonly uncordon: boolean;
    };

export function planEviction(input: EvictInput): EvictPlan {
  const { cas, pod } = input;
  if (!cas) return { action: "refuse", reason: "the CAS does not exist" };
  const marker = readEvictMarker(cas);
  const running = pod?.metadata?.deletionTimestamp ? undefined : pod?.spec?.nodeName;
  if (marker && input.requestedNode !== undefined && input.requestedNode !== marker.from) {
    return {
      action: "refuse",
      reason: `a move away from ${marker.from} is in progress (annotation ${EVICT_ANNOTATION}); finish it first (rerun without --node)`,
    };
  }
  const from = marker?.from ?? input.requestedNode ?? running;
  if (from === undefined) {
    return { action: "refuse", reason: `pod ${cas.metadata.name}-0 runs on no node: there is nothing to move` };
  }
  if (!marker && running !== undefined && running !== from) {
    return {
      action: "refuse",
      reason: `CAS runs on ${running}, not on ${from}: there is nothing to move away from ${from}`,
    };
  }
  if (!marker && running === undefined) {
    return {
      action: "refuse",
      reason: `pod ${cas.metadata.name}-0 is not running on ${from}: there is nothing to move`,
    };
  }
  const sourceNode = input.nodes.find((n) => n.metadata?.name === from);
  const zone = input.volumeZone ?? zoneOf(sourceNode);
  const { eligible, rejected } = eligibleNodes(cas, input.nodes, { name: from, ...(zone ? { zone } : {}) });
  const podOnSource = running === from;
  // Once CAS runs elsewhere the choice has been made: only the clean-up (uncordon, marker) remains.
  if (eligible.length === 0 && (podOnSource || !marker)) {
    const others = rejected.filter((r) => r.node !== from);
    const why = others.length > 0 ? describeRejections(others) : "the cluster has no other node";
    return { action: "refuse", reason: `no node can take CAS over from ${from}: ${why}` };
  }
  return {
    action: "move",
    from,
    eligible,
    resuming: marker !== undefined,
    podOnSource,
    uncordon: marker ? marker.uncordon : !sourceNode?.spec?.unschedulable,
  };
}
