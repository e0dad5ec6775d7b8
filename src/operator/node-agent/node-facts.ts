// Facts about nodes and pods that the SGXPlugin and LAS controllers both derive their status from (pure):
// which nodes a DaemonSet selects, whether a node offers SGX, how many SGX devices pods use, whether a pod is ready.
import type { V1DaemonSet, V1Node, V1Pod, V1Taint, V1Toleration } from "@kubernetes/client-node";
import { SGX_CAPABLE_LABEL, SGX_ENCLAVE_RESOURCE } from "../../resources/defaults.ts";

export const nodeName = (n: V1Node): string => n.metadata?.name ?? "";

/** A Kubernetes quantity as a number ("20", "1k", "500m", "2Ki"); NaN when it cannot be read. */
export function quantityValue(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === "number") return q;
  const m = /^([+-]?\d*\.?\d+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return Number.NaN;
  const suffix: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  const factor = suffix[m[2] ?? ""];
  return factor === undefined ? Number.NaN : Number(m[1]) * factor;
}

/** SGX devices a node offers to pods (allocatable sgx.intel.com/enclave); 0 when it advertises none. */
export function sgxCapacity(node: V1Node): number {
  const v = quantityValue(node.status?.allocatable?.[SGX_ENCLAVE_RESOURCE]);
  return Number.isFinite(v) ? Math.floor(v) : 0;
}

/** A node offers SGX when it advertises enclave devices or carries the SGX label (set before devices show). */
export const isSgxNode = (node: V1Node): boolean =>
  sgxCapacity(node) > 0 || node.metadata?.labels?.[SGX_CAPABLE_LABEL] === "true";

const isTerminated = (pod: V1Pod): boolean => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

/** SGX devices a pod holds: like the scheduler, max(sum over containers, largest init container). */
export function podEnclaveRequest(pod: V1Pod): number {
  const of = (c: { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }) => {
    const r = quantityValue(c.resources?.requests?.[SGX_ENCLAVE_RESOURCE] as string | undefined);
    const l = quantityValue(c.resources?.limits?.[SGX_ENCLAVE_RESOURCE] as string | undefined);
    // Extended resources have requests == limits; the API server fills requests from limits.
    return Math.max(Number.isFinite(r) ? r : 0, Number.isFinite(l) ? l : 0);
  };
  const sum = (pod.spec?.containers ?? []).reduce((a, c) => a + of(c), 0);
  const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map(of));
  return Math.max(sum, init);
}

/** SGX devices in use per node: enclave requests of pods bound to the node and not finished. */
export function enclaveUsageByNode(pods: readonly V1Pod[]): Map<string, number> {
  const used = new Map<string, number>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || isTerminated(pod)) continue;
    const n = podEnclaveRequest(pod);
    if (n > 0) used.set(node, (used.get(node) ?? 0) + n);
  }
  return used;
}

// The DaemonSet controller adds these tolerations to every daemon pod itself.
const DAEMON_TOLERATED = new Set([
  "node.kubernetes.io/not-ready",
  "node.kubernetes.io/unreachable",
  "node.kubernetes.io/disk-pressure",
  "node.kubernetes.io/memory-pressure",
  "node.kubernetes.io/pid-pressure",
  "node.kubernetes.io/unschedulable",
]);

function tolerates(t: V1Toleration, taint: V1Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === "Exists";
  if (t.key !== taint.key) return false;
  return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
}

/** Whether a DaemonSet with this node selector and these tolerations runs a pod on `node`. */
export function daemonRunsOn(
  node: V1Node,
  nodeSelector: Readonly<Record<string, string>> | undefined,
  tolerations: readonly V1Toleration[] | undefined,
): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(nodeSelector ?? {})) if (labels[k] !== v) return false;
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect === "PreferNoSchedule" || DAEMON_TOLERATED.has(taint.key)) continue;
    if (!(tolerations ?? []).some((t) => tolerates(t, taint))) return false;
  }
  return true;
}

/** The nodes the DaemonSet's pod template selects, sorted by name. */
export function selectedNodes(ds: V1DaemonSet, nodes: readonly V1Node[]): V1Node[] {
  const pod = ds.spec?.template.spec;
  return nodes
    .filter((n) => daemonRunsOn(n, pod?.nodeSelector, pod?.tolerations))
    .sort((a, b) => nodeName(a).localeCompare(nodeName(b)));
}

export const isPodReady = (pod: V1Pod): boolean =>
  pod.metadata?.deletionTimestamp === undefined &&
  pod.status?.phase === "Running" &&
  (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

export const isContainerReady = (pod: V1Pod, container: string): boolean =>
  pod.status?.phase === "Running" && (pod.status.containerStatuses ?? []).some((c) => c.name === container && c.ready);

/** One pod per node (the newest when a rolling update briefly leaves two). */
export function podsByNode(pods: readonly V1Pod[]): Map<string, V1Pod> {
  const out = new Map<string, V1Pod>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || isTerminated(pod)) continue;
    const prev = out.get(node);
    const created = (p: V1Pod) => String(p.metadata?.creationTimestamp ?? "");
    if (!prev || created(pod) > created(prev)) out.set(node, pod);
  }
  return out;
}

/** Seconds since the epoch of a Kubernetes timestamp (string or Date); 0 when absent. */
export function unixSeconds(t: Date | string | undefined): number {
  if (t === undefined) return 0;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

/** Whether the DaemonSet controller has not yet rolled the current template out to every selected node. */
export function isRollingOut(ds: V1DaemonSet): boolean {
  const s = ds.status;
  if (!s) return true;
  if ((s.observedGeneration ?? 0) < (ds.metadata?.generation ?? 0)) return true;
  return (s.updatedNumberScheduled ?? 0) < s.desiredNumberScheduled;
}
