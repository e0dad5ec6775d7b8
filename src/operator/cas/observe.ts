// What the CAS reconciler reads: the caches it keeps, its memory of lost nodes and zones, where CAS must go
// (relocation.ts, with one GET of the database volume only when it has to move) and what CAS answers (probe.ts).
import type {
  V1Deployment,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1StatefulSet,
} from "@kubernetes/client-node";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import type { CAS } from "../../resources/cas.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import type { OperatorContext } from "../wiring.ts";
import { names } from "./names.ts";
import { zoneOf } from "./nodes.ts";
import type { CasBefore } from "./plan.ts";
import { type CasProbe, type CasProbeResult, PROBE_TIMEOUT_MS, probeWithTimeout } from "./probe.ts";
import { currentPlacement, planRelocation, type Relocation, zoneOfVolume } from "./relocation.ts";

const PV: TypeRef = { apiVersion: "v1", kind: "PersistentVolume" };

export interface CasCaches {
  readonly cas: Informer<KubeObject>;
  readonly statefulSets: Informer<KubeObject>;
  readonly deployments: Informer<KubeObject>;
  readonly pdbs: Informer<KubeObject>;
  /** Every namespaced kind the CAS owns (the three above among them): pruned when no longer desired. */
  readonly owned: readonly Informer<KubeObject>[];
  /** The backup controller's ClusterRoleBindings. */
  readonly clusterBindings: Informer<KubeObject>;
  readonly pods: Informer<KubeObject>;
  readonly pvcs: Informer<KubeObject>;
  readonly nodes: Informer<KubeObject>;
}

export const allCaches = (c: CasCaches): Informer<KubeObject>[] => [
  c.cas,
  ...c.owned,
  c.clusterBindings,
  c.pods,
  c.pvcs,
  c.nodes,
];

export const casKey = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;
const keyOf = (cas: CAS) => casKey(cas.metadata.namespace, cas.metadata.name);

/**
 * Memory of the controller (lost on restart, which only restarts a backoff): when each CAS's node was first seen
 * lost, and the last zone of every node (a deleted Node no longer tells its zone).
 */
export class RelocationMemory {
  readonly lostSince = new Map<string, number>();
  readonly lastZone = new Map<string, string>();

  rememberZone(n: V1Node): void {
    const zone = zoneOf(n);
    if (zone && n.metadata?.name) this.lastZone.set(n.metadata.name, zone);
  }

  forget(key: string): void {
    this.lostSince.delete(key);
  }
}

export interface ObserveDeps {
  readonly ctx: OperatorContext;
  readonly caches: CasCaches;
  readonly memory: RelocationMemory;
  readonly probe: CasProbe;
  readonly probeTimeoutMs?: number | undefined;
  readonly podDeletionBackoffMs: number;
}

async function volumeZone(d: ObserveDeps, cas: CAS, rctx: ReconcileContext): Promise<string | undefined> {
  const claim = names(cas.metadata.name ?? "").databasePvc;
  const pvc = d.caches.pvcs.get(cas.metadata.namespace ?? "", claim) as V1PersistentVolumeClaim | undefined;
  const volume = pvc?.spec?.volumeName;
  if (!volume) return undefined;
  const pv = await d.ctx.client.tryGet<V1PersistentVolume>({ ...PV, name: volume }, { signal: rctx.signal });
  return pv ? zoneOfVolume(pv) : undefined;
}

/** Whether CAS must leave its node, and where to; the backoff clock starts when the loss is first seen. */
export async function observeRelocation(
  d: ObserveDeps,
  before: CasBefore & { cas: CAS },
  nowMs: number,
  rctx: ReconcileContext,
): Promise<Relocation> {
  const { cas, pod, statefulSet, nodes } = before;
  const key = keyOf(cas);
  const pinned = currentPlacement(statefulSet);
  const lostSince = d.memory.lostSince;
  const input = {
    cas,
    pod,
    nodes,
    ...(pinned ? { pinned } : {}),
    volumeZone: undefined,
    lastKnownZone: (node: string) => d.memory.lastZone.get(node),
    lostSinceMs: lostSince.get(key),
    nowMs,
    backoffMs: d.podDeletionBackoffMs,
  };
  const first = planRelocation(input);
  if (first.kind === "placed") {
    lostSince.delete(key);
    return first;
  }
  if (!lostSince.has(key)) lostSince.set(key, nowMs);
  // The database volume's zone is read only now (one GET of its PV), when CAS has to move.
  return planRelocation({ ...input, volumeZone: await volumeZone(d, cas, rctx), lostSinceMs: lostSince.get(key) });
}

/** The CAS's objects as the caches show them before this round's apply. */
export function observeBefore(c: CasCaches, cas: CAS): CasBefore {
  const ns = cas.metadata.namespace ?? "";
  const n = names(cas.metadata.name ?? "");
  return {
    statefulSet: c.statefulSets.get(ns, n.statefulSet) as V1StatefulSet | undefined,
    pod: c.pods.get(ns, n.pod) as V1Pod | undefined,
    pvcs: [],
    backupController: c.deployments.get(ns, n.backupController) as V1Deployment | undefined,
    safetyService: c.deployments.get(ns, n.safetyService) as V1Deployment | undefined,
    podDisruptionBudget: c.pdbs.get(ns, n.podDisruptionBudget) as V1PodDisruptionBudget | undefined,
    safetyServicePodDisruptionBudget: c.pdbs.get(ns, n.safetyService) as V1PodDisruptionBudget | undefined,
    nodes: c.nodes.list() as V1Node[],
  };
}

/** What CAS answers this round (bounded by the probe timeout). */
export const askCas = (d: ObserveDeps, cas: CAS, rctx: ReconcileContext): Promise<CasProbeResult> =>
  probeWithTimeout(d.probe, cas, rctx.signal, d.probeTimeoutMs ?? PROBE_TIMEOUT_MS);
