// The I/O both node-agent controllers (SGXPlugin, LAS) share: caches, node label patches, the one-per-cluster
// rule, Events on state transitions and the per-resource gauges.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { Informer, InformerScope } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { ServiceState } from "../../resources/common-fields.ts";
import { SGX_ENCLAVE_RESOURCE } from "../../resources/defaults.ts";
import type { ReconcileContext, ReconcileRequest } from "../../runtime/controller.ts";
import { type EventSink, FIELD_MANAGER } from "../reconcile-kit.ts";
import { InformerReader, type OperatorContext } from "../wiring.ts";
import { type NodeLabelPatch, SGX_LABEL_MARKER, toMergePatch } from "./node-labels.ts";

export const FINALIZER = "base.scone.cloud/finalizer";
export const DAEMONSET_TYPE: TypeRef = { apiVersion: "apps/v1", kind: "DaemonSet" };
export const SECRET_TYPE: TypeRef = { apiVersion: "v1", kind: "Secret" };
export const NODE_TYPE: TypeRef = { apiVersion: "v1", kind: "Node" };
export const POD_TYPE: TypeRef = { apiVersion: "v1", kind: "Pod" };
/** While not HEALTHY, look again this often (pods may be settling; the progress deadline may pass). */
export const RECHECK_MS = 60_000;

/** The informer of an owned kind, declared to the reader so applyOwned compares against the cache. */
export function cacheOwned(ctx: OperatorContext, scope: InformerScope): Informer<KubeObject> {
  const reader = ctx.kit.reader;
  return reader instanceof InformerReader ? reader.cache(scope) : ctx.informers.informer(scope);
}

/** Waits (bounded) for the caches' first list: a reconcile must not read "absent" from an empty cache. */
export async function waitForCaches(informers: readonly Informer<KubeObject>[], signal: AbortSignal): Promise<void> {
  if (informers.every((i) => i.hasSynced())) return;
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(15_000)]);
  try {
    await Promise.all(informers.map((i) => i.waitForSync(bounded)));
  } catch {
    throw new Error(
      `caches not synced yet: ${informers
        .filter((i) => !i.hasSynced())
        .map((i) => i.name)
        .join(", ")}`,
    );
  }
}

const created = (o: KubeObject) => String(o.metadata?.creationTimestamp ?? "");

/** The one resource of a kind the operator reconciles: the oldest that is not being deleted. */
export function primaryOf<T extends KubeObject>(all: readonly T[]): T | undefined {
  return [...all]
    .filter((o) => !o.metadata?.deletionTimestamp)
    .sort(
      (a, b) => created(a).localeCompare(created(b)) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    )[0];
}

/** Enqueue every resource of the primary informer (one-per-cluster kinds: a change may hand over the role). */
export const everyResource = (primary: Informer<KubeObject>) => (): ReconcileRequest[] =>
  primary.list().map((o) => ({ name: o.metadata?.name ?? "" }));

/** Sends the planned node label patches (merge patches: only the keys that differ). */
export async function patchNodes(
  ctx: OperatorContext,
  patches: readonly NodeLabelPatch[],
  rctx: ReconcileContext,
): Promise<void> {
  for (const p of patches) {
    await ctx.client.patch({ ...NODE_TYPE, name: p.node }, toMergePatch(p), "merge", {
      fieldManager: FIELD_MANAGER,
      signal: rctx.signal,
    });
    const what = Object.entries(p.labels)
      .map(([k, v]) => (v === null ? `-${k}` : `${k}=${v}`))
      .join(",");
    rctx.actions.push(`label node ${p.node} ${what}`);
  }
}

/** The part of a Node these controllers react to; heartbeats and image lists change nothing here. */
export const nodeFingerprint = (n: V1Node): string =>
  JSON.stringify([
    n.metadata?.labels ?? {},
    n.metadata?.annotations?.[SGX_LABEL_MARKER] ?? "",
    n.status?.allocatable?.[SGX_ENCLAVE_RESOURCE] ?? "",
    n.spec?.taints ?? [],
    n.spec?.unschedulable ?? false,
    n.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "",
  ]);

/** Subscribes `onChange` to node adds, deletes and updates that change the fingerprint. */
export function onRelevantNodeChange(nodes: Informer<KubeObject>, onChange: () => void): void {
  const fp = (o: KubeObject) => nodeFingerprint(o as V1Node);
  nodes.addHandlers({ add: onChange, delete: onChange, update: (a, b) => fp(a) !== fp(b) && onChange() });
}

/** Events on the transitions a human wants to see: becoming HEALTHY or UNHEALTHY. */
export function recordStateTransition(
  events: EventSink,
  obj: KubeObject,
  before: ServiceState | undefined,
  after: ServiceState,
  detail: string,
): void {
  if (before === after) return;
  if (after === "HEALTHY") events.record(obj, "Normal", "Healthy", `${obj.kind} ${obj.metadata?.name} is HEALTHY`);
  else if (after === "UNHEALTHY")
    events.record(obj, "Warning", "Unhealthy", `${obj.kind} ${obj.metadata?.name} is UNHEALTHY: ${detail}`);
}

/** A slimmer pod for caches that only count devices and readiness (all pods of a cluster can be many). */
export function slimPod(p: V1Pod): V1Pod {
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: {
      name: p.metadata?.name,
      namespace: p.metadata?.namespace,
      uid: p.metadata?.uid,
      resourceVersion: p.metadata?.resourceVersion,
      labels: p.metadata?.labels,
      creationTimestamp: p.metadata?.creationTimestamp,
      deletionTimestamp: p.metadata?.deletionTimestamp,
    },
    spec: {
      nodeName: p.spec?.nodeName,
      containers: (p.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, resources: c.resources })),
      initContainers: p.spec?.initContainers?.map((c) => ({ name: c.name, resources: c.resources })),
    },
    status: {
      phase: p.status?.phase,
      conditions: p.status?.conditions,
      containerStatuses: p.status?.containerStatuses?.map((c) => ({
        name: c.name,
        ready: c.ready,
        image: c.image,
        imageID: c.imageID,
        restartCount: c.restartCount,
        state: c.state,
      })),
    },
  };
}

export interface GaugeSpec {
  readonly name: string;
  readonly help: string;
}

/**
 * The gauges of one kind, labelled cr_name and cr_namespace (per-node gauges also node), with upstream's names.
 * Every series of a resource goes when the resource does.
 */
export class ResourceGauges<K extends string, N extends string> {
  constructor(
    private readonly registry: MetricsRegistry,
    private readonly scalar: Record<K, GaugeSpec>,
    private readonly perNode: Record<N, GaugeSpec>,
  ) {
    for (const g of [...Object.values<GaugeSpec>(scalar), ...Object.values<GaugeSpec>(perNode)])
      registry.gauge(g.name, g.help);
  }

  private labels(o: KubeObject) {
    return { cr_name: o.metadata?.name ?? "", cr_namespace: o.metadata?.namespace ?? "" };
  }

  set(o: KubeObject, values: Record<K, number>, nodeValues: Partial<Record<N, Record<string, number>>> = {}): void {
    const labels = this.labels(o);
    for (const k of Object.keys(this.scalar) as K[]) {
      const g = this.scalar[k];
      this.registry.gauge(g.name, g.help).set(labels, values[k]);
    }
    for (const k of Object.keys(this.perNode) as N[]) {
      const g = this.registry.gauge(this.perNode[k].name, this.perNode[k].help);
      g.removeMatching(labels);
      for (const [node, v] of Object.entries(nodeValues[k] ?? {})) g.set({ ...labels, node }, v);
    }
  }

  remove(name: string, namespace = ""): void {
    const labels = { cr_name: name, cr_namespace: namespace };
    for (const g of [...Object.values<GaugeSpec>(this.scalar), ...Object.values<GaugeSpec>(this.perNode)])
      this.registry.gauge(g.name, g.help).removeMatching(labels);
  }
}
