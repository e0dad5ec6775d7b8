// The CAS reconciler's effects: apply the rendered objects and prune those no longer desired, keep the
// cluster-scoped bindings, move CAS off a lost node, and on deletion keep the database PVCs and say so.
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeObject } from "../../kube/types.ts";
import type { CAS } from "../../resources/cas.ts";
import { CAS_EVENT_REASON } from "../../resources/cas-conditions.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { isUpToDate, withAppliedHash } from "../../runtime/drift.ts";
import {
  applyOwned,
  FIELD_MANAGER,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  pruneOwned,
  refOfObject,
  removeFinalizer,
} from "../reconcile-kit.ts";
import type { OperatorContext } from "../wiring.ts";
import type { DesiredCasObjects } from "./desired.ts";
import { CAS_FINALIZER, names } from "./names.ts";
import type { CasCaches } from "./observe.ts";
import { claimsOf, databaseKeptMessage, nodeLostMessage, unwantedBindings } from "./plan.ts";
import type { Relocation } from "./relocation.ts";

export interface ApplyDeps {
  readonly ctx: OperatorContext;
  readonly caches: CasCaches;
}

const ownedBy = (list: readonly KubeObject[], cas: CAS) =>
  list.filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === cas.metadata.uid));

/** Cluster-scoped objects: applied like owned ones (skipped when up to date) but without an owner reference. */
async function applyClusterScoped(d: ApplyDeps, desired: readonly KubeObject[], rctx: ReconcileContext) {
  for (const o of desired) {
    const want = withAppliedHash({
      ...o,
      metadata: { ...o.metadata, labels: { ...o.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY } },
    });
    if (isUpToDate(want, await d.ctx.kit.reader.get(refOfObject(want)))) continue;
    await d.ctx.client.apply(want, { force: true, fieldManager: FIELD_MANAGER, signal: rctx.signal });
    rctx.actions.push(`apply ${want.kind} ${want.metadata?.name}`);
  }
}

/** Deletes this CAS's cluster-scoped bindings that are not in `keep` (plan.ts unwantedBindings). */
async function deleteClusterScoped(d: ApplyDeps, cas: CAS, keep: readonly KubeObject[], rctx: ReconcileContext) {
  for (const o of unwantedBindings(cas, d.caches.clusterBindings.list(), keep))
    if (await d.ctx.client.deleteIfExists(refOfObject(o), { signal: rctx.signal }))
      rctx.actions.push(`delete ${o.kind} ${o.metadata?.name}`);
}

/** Applies the desired objects, prunes the owned ones no longer desired; returns the objects as they now are. */
export async function applyCasObjects(
  d: ApplyDeps,
  cas: CAS,
  desired: DesiredCasObjects,
  rctx: ReconcileContext,
): Promise<KubeObject[]> {
  const applied = await applyOwned(d.ctx.kit, cas, desired.owned, rctx);
  const ownedNow = d.caches.owned.flatMap((inf) => ownedBy(inf.list(cas.metadata.namespace), cas));
  await pruneOwned(d.ctx.kit, ownedNow, desired.owned, rctx);
  await applyClusterScoped(d, desired.cluster, rctx);
  await deleteClusterScoped(d, cas, desired.cluster, rctx);
  return applied;
}

/** Move off a lost node: the pod cannot finish terminating without its kubelet, so it is removed at once. */
export async function evictFromLostNode(
  d: ApplyDeps,
  cas: CAS,
  pod: V1Pod,
  relocation: Relocation & { kind: "moving" },
  rctx: ReconcileContext,
): Promise<void> {
  const podName = names(cas.metadata.name ?? "").pod;
  await d.ctx.client.deleteIfExists(refOfObject(pod), {
    gracePeriodSeconds: 0,
    preconditions: { uid: pod.metadata?.uid ?? "" },
    signal: rctx.signal,
  });
  rctx.actions.push(`delete pod ${cas.metadata.namespace}/${podName} stuck on ${relocation.node}`);
  d.ctx.kit.events.record(cas, "Warning", CAS_EVENT_REASON.NodeLost, nodeLostMessage(relocation, podName));
}

/** Deletion: the cluster-scoped bindings go, the database PVCs stay (an Event says so), then the finalizer. */
export async function finalizeCas(d: ApplyDeps, cas: CAS, rctx: ReconcileContext): Promise<void> {
  await deleteClusterScoped(d, cas, [], rctx);
  const kept = claimsOf(cas, d.caches.pvcs.list(cas.metadata.namespace)).map((p) => p.metadata?.name ?? "");
  const message = databaseKeptMessage(cas, kept);
  if (message) d.ctx.kit.events.record(cas, "Normal", CAS_EVENT_REASON.DatabaseKept, message);
  await removeFinalizer(d.ctx.kit, cas, CAS_FINALIZER, rctx);
}
