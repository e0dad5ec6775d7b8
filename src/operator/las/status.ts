// LAS status from what the cluster shows (pure): the LAS DaemonSet, its pods, the nodes, and what the LAS pod logs
// told about each node (the quoting enclave's public key). -1 means "could not be calculated", as upstream.
import type { V1DaemonSet, V1Node, V1Pod } from "@kubernetes/client-node";
import type { LAS, LASNode, LASStatus } from "../../resources/las.ts";
import { LAS_REASON } from "../../resources/service-conditions.ts";
import { agentPodsOf, assessAgent } from "../node-agent/agent-health.ts";
import {
  isContainerReady,
  isPodReady,
  nodeName,
  podsByNode,
  selectedNodes,
  unixSeconds,
} from "../node-agent/node-facts.ts";
import type { LasNodeHealth } from "../node-agent/node-labels.ts";
import { LAS_APP, LAS_CONTAINER, PROBE_CONTAINER } from "./render.ts";

/** What one LAS pod's log told (see log-facts.ts); absent when the log was not read. */
export interface LasLogFacts {
  /** 64 hex digits, the QE public key (platform id). */
  readonly publicKey?: string;
  /** Unix seconds of the last successful read of the log. */
  readonly computedAt: number;
}

export interface DeriveLasOptions {
  readonly now: Date;
  /** Log facts of a LAS pod, by pod uid (best effort). */
  readonly logFacts?: (podUid: string) => LasLogFacts | undefined;
}

/** What the operator sees of LAS on one selected node. */
export interface LasNodeObservation {
  readonly pod: V1Pod | undefined;
  readonly lasReady: boolean;
  readonly podReady: boolean;
  /** -1: no running pod, 0: probe succeeds, 1: probe fails. */
  readonly probeAlert: -1 | 0 | 1;
}

export const lasPodsOf = (ds: V1DaemonSet, pods: readonly V1Pod[]): V1Pod[] => agentPodsOf(ds, pods, LAS_APP);

/** Per selected node (by name): its LAS pod and how healthy it is. */
export function observeLasNodes(
  ds: V1DaemonSet,
  pods: readonly V1Pod[],
  nodes: readonly V1Node[],
): Map<string, LasNodeObservation> {
  const byNode = podsByNode(lasPodsOf(ds, pods));
  const out = new Map<string, LasNodeObservation>();
  for (const node of selectedNodes(ds, nodes)) {
    const pod = byNode.get(nodeName(node));
    const running = pod?.status?.phase === "Running";
    out.set(nodeName(node), {
      pod,
      lasReady: pod !== undefined && isContainerReady(pod, LAS_CONTAINER),
      podReady: pod !== undefined && isPodReady(pod),
      probeAlert: !pod || !running ? -1 : isContainerReady(pod, PROBE_CONTAINER) ? 0 : 1,
    });
  }
  return out;
}

/** The node labels' inputs: capable = LAS answers, ok = the whole pod is ready and the probe passes. */
export function lasNodeHealth(observed: ReadonlyMap<string, LasNodeObservation>): Map<string, LasNodeHealth> {
  const out = new Map<string, LasNodeHealth>();
  for (const [name, o] of observed) out.set(name, { capable: o.lasReady, ok: o.podReady && o.probeAlert === 0 });
  return out;
}

/** The tag (or digest) of an image reference; "" when it has neither. */
export function imageVersion(image: string | undefined): string {
  if (!image) return "";
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1);
  const name = image.slice(image.lastIndexOf("/") + 1);
  const colon = name.indexOf(":");
  return colon >= 0 ? name.slice(colon + 1) : "";
}

const lasImage = (p: { spec?: { containers?: { name: string; image?: string }[] } }) =>
  p.spec?.containers?.find((c) => c.name === LAS_CONTAINER)?.image;

function nodeEntry(o: LasNodeObservation, facts: LasLogFacts | undefined): LASNode {
  const pod = o.pod;
  const errors: string[] = [];
  if (!pod) errors.push("no LAS pod on this node");
  else if (pod.status?.phase !== "Running") errors.push(`LAS pod is ${pod.status?.phase ?? "Pending"}`);
  else {
    if (!o.lasReady) errors.push("LAS container is not ready");
    if (o.probeAlert === 1) errors.push("LAS probe fails");
    if (facts && !facts.publicKey) errors.push("QE public key not found in the LAS log");
  }
  const lasStatus = pod?.status?.containerStatuses?.find((c) => c.name === LAS_CONTAINER);
  const ready = pod?.status?.conditions?.find((c) => c.type === "Ready");
  return {
    isReady: o.lasReady,
    hasDCAPQuote: o.probeAlert === 0,
    // The probe checks DCAP only; EPID attestation was retired by Intel.
    hasEPIDQuote: false,
    publicKey: facts?.publicKey ?? "",
    lasProbeAlert: o.probeAlert,
    lastComputedAt: facts?.computedAt ?? 0,
    lastProbedAt: pod ? unixSeconds(ready?.lastTransitionTime) : 0,
    lastRunningStartedAt: unixSeconds(lasStatus?.state?.running?.startedAt),
    ...(errors.length ? { errorMessages: errors } : {}),
  };
}

/**
 * `daemonSet` undefined: not created yet. `pods` (the LAS pods; other pods are ignored) or `nodes` undefined: not
 * observable, so the counts are -1.
 */
export function deriveLasStatus(
  las: LAS,
  daemonSet: V1DaemonSet | undefined,
  pods: readonly V1Pod[] | undefined,
  nodes: readonly V1Node[] | undefined,
  opts: DeriveLasOptions,
): LASStatus {
  const generation = las.metadata.generation;
  const dsStatus = daemonSet?.status;
  const observed = daemonSet && pods && nodes ? observeLasNodes(daemonSet, pods, nodes) : undefined;

  const nodeMap: Record<string, LASNode> = {};
  for (const [name, o] of observed ?? []) {
    const uid = o.pod?.metadata?.uid;
    nodeMap[name] = nodeEntry(o, uid ? opts.logFacts?.(uid) : undefined);
  }
  const list = [...(observed?.values() ?? [])];
  const lasReplicaAlert = observed ? list.filter((o) => !o.podReady).length : -1;
  const lasProbeAlert = observed ? list.filter((o) => o.probeAlert === 1).length : -1;
  const selected = observed ? observed.size : -1;

  const lasPods = daemonSet && pods ? lasPodsOf(daemonSet, pods) : [];
  const { state, conditions } = assessAgent({
    what: "LAS",
    resource: las,
    daemonSet,
    agentPods: lasPods,
    observable: Boolean(nodes && pods),
    servedNodes: selected,
    noNodes: {
      reason: LAS_REASON.NoSGXNodes,
      message: "no node matches the LAS node selector (waiting for SGX nodes labelled sgx.intel.com/capable=true)",
    },
    shortfalls: [
      {
        count: lasReplicaAlert,
        reason: LAS_REASON.LASPodsUnavailable,
        message: `${lasReplicaAlert} of ${selected} selected nodes have no ready LAS pod`,
      },
      {
        count: lasProbeAlert,
        reason: LAS_REASON.ProbeFailing,
        message: `the LAS probe fails on ${lasProbeAlert} of ${selected} nodes`,
      },
    ],
    healthyMessage: `LAS is ready on ${selected} of ${selected} selected nodes`,
    now: opts.now,
  });

  const podImages = new Set(lasPods.map(lasImage));
  const image =
    podImages.size === 1 ? [...podImages][0] : daemonSet ? lasImage(daemonSet.spec?.template ?? {}) : las.spec?.image;

  return {
    state,
    version: imageVersion(image),
    conditions,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    desiredNumberScheduled: dsStatus ? dsStatus.desiredNumberScheduled : -1,
    numberAvailable: dsStatus ? (dsStatus.numberAvailable ?? 0) : -1,
    lasReplicaAlert,
    lasProbeAlert,
    nodes: nodeMap,
  };
}
