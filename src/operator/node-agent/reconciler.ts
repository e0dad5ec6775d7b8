// The reconcile loop of a one-per-cluster node agent (SGXPlugin, LAS): a DaemonSet (plus helper objects) owned by a
// cluster-scoped resource, node labels, status, gauges. The kinds differ only in what they render and how they
// derive status and labels; this is everything else, in one place:
//   gone → drop gauges · deleting → remove our node labels (unless another resource takes over), drop finalizer ·
//   not the oldest of its kind → say so in status · else finalizer, apply owned objects (skipping up-to-date ones),
//   prune leftovers, derive status and labels, patch labels and status only where they differ, Events, gauges.
import type { V1DaemonSet, V1Node } from "@kubernetes/client-node";
import { secretsForbiddenHint } from "../../install/rbac.ts";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import type { ServiceState } from "../../resources/common-fields.ts";
import type { Condition } from "../../runtime/conditions.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
} from "../../runtime/controller.ts";
import { everyResource, primaryOf, waitForCaches } from "../kit/caches.ts";
import { failedConditions, RECHECK_MS, recordStateTransition } from "../kit/health.ts";
import { onRelevantNodeChange } from "../kit/node-watch.ts";
import { addFinalizer, applyOwned, hasFinalizer, pruneOwned, removeFinalizer, writeStatus } from "../reconcile-kit.ts";
import { type OperatorContext, watchMapped, watchOwned } from "../wiring.ts";
import type { NodeLabelPatch } from "./node-labels.ts";
import { FINALIZER, type NodePatcher, patchNodes } from "./nodes.ts";

export interface NodeAgentStatus {
  state: ServiceState;
  conditions?: Condition[];
  observedGeneration?: number;
}

/** The resource as the informer holds it (spec/status typed by the kind). */
export interface NodeAgentResource<S> extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: NonNullable<KubeObject["metadata"]>;
  status?: S;
}

export interface NodeAgentKind<R extends NodeAgentResource<S>, S extends NodeAgentStatus> {
  readonly kind: string;
  readonly resources: Informer<KubeObject>;
  readonly daemonSets: Informer<KubeObject>;
  /** Caches of every owned kind, to find objects no longer desired. */
  readonly owned: readonly Informer<KubeObject>[];
  /** Every cache the reconcile reads (waited for before the first reconcile). */
  readonly caches: readonly Informer<KubeObject>[];
  readonly nodes: Informer<KubeObject>;
  /** The owned objects; the first is the DaemonSet. */
  render(resource: R): KubeObject[];
  /** Status and node label changes, from the applied DaemonSet and the caches. */
  observe(resource: R, ds: V1DaemonSet, rctx: ReconcileContext): Promise<{ status: S; nodePatches: NodeLabelPatch[] }>;
  /** The previous status, UNHEALTHY with these conditions (required fields filled in): reconciling failed. */
  failedStatus(resource: R, conditions: Condition[]): S;
  /** Patches removing every node label this kind set. */
  removeNodeLabels(nodes: readonly V1Node[]): NodeLabelPatch[];
  setGauges(resource: R, status: S): void;
  removeGauges(name: string): void;
  /** When to look again though nothing changed (default: RECHECK_MS unless HEALTHY). */
  requeueAfterMs?(resource: R, status: S, ds: V1DaemonSet): number | undefined;
}

const ownedBy = (list: readonly KubeObject[], uid: string | undefined) =>
  list.filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === uid));

/** What the reconcile uses of the operator: the kit, node patches, the namespace its Secrets are granted in. */
export type NodeAgentContext = Pick<OperatorContext, "kit" | "operatorNamespace"> & NodePatcher;

export function nodeAgentReconciler<R extends NodeAgentResource<S>, S extends NodeAgentStatus>(
  ctx: NodeAgentContext,
  k: NodeAgentKind<R, S>,
) {
  const finalize = async (res: R, rctx: ReconcileContext): Promise<undefined> => {
    k.removeGauges(res.metadata.name ?? "");
    if (!hasFinalizer(res, FINALIZER)) return undefined;
    // Owned objects go with their owner (ownerReferences). Node labels go now, unless another resource takes over.
    const successor = primaryOf(k.resources.list().filter((o) => o.metadata?.name !== res.metadata.name));
    if (!successor) await patchNodes(ctx, k.removeNodeLabels(k.nodes.list() as V1Node[]), rctx);
    await removeFinalizer(ctx.kit, res, FINALIZER, rctx);
    return undefined;
  };

  const refuse = async (res: R, primary: KubeObject, rctx: ReconcileContext): Promise<undefined> => {
    const message = `${k.kind} ${primary.metadata?.name} is this cluster's ${k.kind}; a second ${k.kind} is not reconciled`;
    await reportFailure(res, "NotReconciled", message, rctx);
    return undefined;
  };

  /** Status and (once) an Event saying why the resource cannot be reconciled. */
  const reportFailure = async (res: R, reason: string, message: string, rctx: ReconcileContext) => {
    const conditions = failedConditions(reason, message, res.status?.conditions, res.metadata.generation, new Date());
    if (await writeStatus(ctx.kit, res, k.failedStatus(res, conditions), rctx))
      ctx.kit.events.record(res, "Warning", reason, message);
  };

  /** Applies the owned objects; a refusal (missing namespace, quota, admission) shows in status, then retries. */
  const apply = async (res: R, desired: KubeObject[], rctx: ReconcileContext): Promise<V1DaemonSet> => {
    try {
      const [ds] = await applyOwned(ctx.kit, res, desired, rctx);
      return ds as V1DaemonSet;
    } catch (e) {
      // A LAS key Secret outside the namespaces where the operator may use Secrets: name the RoleBinding to add.
      const cause = secretsForbiddenHint(e, ctx.operatorNamespace) ?? (e instanceof Error ? e.message : String(e));
      const message = `applying the ${k.kind}'s objects failed: ${cause}`;
      await reportFailure(res, "ApplyFailed", message, rctx).catch(() => {});
      throw e;
    }
  };

  return async (req: ReconcileRequest, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    await waitForCaches(k.caches, rctx.signal);
    const found = k.resources.get(req.name) as R | undefined;
    if (!found) {
      k.removeGauges(req.name);
      return undefined;
    }
    rctx.observed = { generation: found.metadata.generation, resourceVersion: found.metadata.resourceVersion };
    if (found.metadata.deletionTimestamp) return finalize(found, rctx);
    const primary = primaryOf(k.resources.list());
    if (primary && primary.metadata?.name !== found.metadata.name) return refuse(found, primary, rctx);

    const res = (await addFinalizer(ctx.kit, found, FINALIZER, rctx)) as R;
    const desired = k.render(res);
    const dsRef = desired[0]?.metadata ?? {};
    const existed = k.daemonSets.get(dsRef.namespace ?? "", dsRef.name ?? "") !== undefined;
    const ds = await apply(res, desired, rctx);
    // Missing although the spec is what the status last described (not a move): someone deleted it.
    const unchangedSpec = res.status !== undefined && res.status.observedGeneration === res.metadata.generation;
    if (!existed && unchangedSpec)
      ctx.kit.events.record(
        res,
        "Warning",
        "DaemonSetRecreated",
        `DaemonSet ${dsRef.namespace}/${dsRef.name} was missing and has been created again`,
      );
    // Objects no longer desired: a key Secret once the key is unset, anything left in a former namespace.
    await pruneOwned(
      ctx.kit,
      k.owned.flatMap((c) => ownedBy(c.list(), res.metadata.uid)),
      desired,
      rctx,
    );

    const { status, nodePatches } = await k.observe(res, ds, rctx);
    await patchNodes(ctx, nodePatches, rctx);
    await writeStatus(ctx.kit, res, status, rctx);
    const degraded = status.conditions?.find((c) => c.type === "Degraded")?.message ?? "";
    recordStateTransition(ctx.kit.events, res, res.status?.state, status.state, degraded);
    k.setGauges(res, status);
    const after = k.requeueAfterMs
      ? k.requeueAfterMs(res, status, ds)
      : status.state === "HEALTHY"
        ? undefined
        : RECHECK_MS;
    return after === undefined ? undefined : { requeueAfterMs: after };
  };
}

/** Feeds the controller: any resource event (the role may pass on), owned objects, relevant node changes. */
function watchNodeAgent<R extends NodeAgentResource<S>, S extends NodeAgentStatus>(
  controller: Controller,
  k: NodeAgentKind<R, S>,
  type: TypeRef,
): () => void {
  const all = everyResource(k.resources);
  const enqueueAll = () => {
    for (const r of all()) controller.enqueue(r);
  };
  watchMapped(controller, k.resources, all);
  for (const c of k.owned) watchOwned(controller, c, type, false);
  onRelevantNodeChange(k.nodes, enqueueAll);
  return enqueueAll;
}

/**
 * The node agent's controller, fed by watchNodeAgent and added to the manager. `enqueueAll` queues every resource
 * of the kind, for the caches only the kind's controller watches (pods).
 */
export function registerNodeAgent<R extends NodeAgentResource<S>, S extends NodeAgentStatus>(
  ctx: OperatorContext,
  name: string,
  k: NodeAgentKind<R, S>,
  type: TypeRef,
): { controller: Controller; enqueueAll: () => void } {
  const controller = new Controller({
    name,
    reconcile: nodeAgentReconciler(ctx, k),
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  const enqueueAll = watchNodeAgent(controller, k, type);
  ctx.manager.addController(controller);
  return { controller, enqueueAll };
}
