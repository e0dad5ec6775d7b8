// The LAS controller: keeps the LAS DaemonSet (and its DCAP key Secret), the las.scontain.com/{capable,ok} node
// labels, the status (with each node's QE public key from the LAS logs) and the scone_las_* gauges.
// One LAS per cluster is reconciled (the oldest); others are told so in status.
import type { V1DaemonSet, V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { type LAS, type LASStatus, lasDefinition } from "../../resources/las.ts";
import type { Condition } from "../../runtime/conditions.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
} from "../../runtime/controller.ts";
import { addFinalizer, applyOwned, hasFinalizer, pruneOwned, removeFinalizer, writeStatus } from "../reconcile-kit.ts";
import {
  cacheOwned,
  DAEMONSET_TYPE,
  everyResource,
  FINALIZER,
  NODE_TYPE,
  onRelevantNodeChange,
  POD_TYPE,
  patchNodes,
  primaryOf,
  RECHECK_MS,
  ResourceGauges,
  recordStateTransition,
  SECRET_TYPE,
  waitForCaches,
} from "../sgxplugin/controller-support.ts";
import { notReconciled, stateMetricValue } from "../sgxplugin/health.ts";
import { APP_NAME_LABEL } from "../sgxplugin/node-facts.ts";
import { planLasNodeLabels } from "../sgxplugin/node-labels.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchMapped, watchOwned } from "../wiring.ts";
import { LasLogFactsCache } from "./log-facts.ts";
import { LAS_APP, LAS_CONTAINER, renderLasDaemonSet, renderLasDcapSecret } from "./render.ts";
import { deriveLasStatus, lasNodeHealth, lasPodsOf, observeLasNodes } from "./status.ts";

export const LAS_TYPE: TypeRef = { apiVersion: apiVersionOf(lasDefinition), kind: "LAS" };

const g = (name: string, help: string) => ({ name: `scone_las_${name}`, help });
const SCALAR = {
  state: g("state", "State of the LAS: 1 HEALTHY, 0 PENDING, -1 UNHEALTHY."),
  desiredNumberScheduled: g("desired_number_scheduled", "Nodes selected to run a LAS pod."),
  numberAvailable: g("number_available", "Nodes with an available LAS pod."),
  lasReplicaAlert: g("las_replica_alert", "Selected nodes without a ready LAS pod (-1: unknown)."),
  lasProbeAlert: g("las_probe_alert", "Nodes where the LAS probe fails (-1: unknown)."),
} as const;

const metricValues = (s: LASStatus): Record<keyof typeof SCALAR, number> => ({
  state: stateMetricValue(s.state),
  desiredNumberScheduled: s.desiredNumberScheduled ?? -1,
  numberAvailable: s.numberAvailable ?? -1,
  lasReplicaAlert: s.lasReplicaAlert ?? -1,
  lasProbeAlert: s.lasProbeAlert ?? -1,
});

/** While some node's QE public key is unknown, read the logs again this often. */
const KEY_RECHECK_MS = 5 * 60_000;

export interface LasControllerOptions {
  /** Read LAS pod logs for the QE public keys (best effort). Default true. */
  readonly readLogs?: boolean;
}

export function registerLasController(ctx: OperatorContext, options: LasControllerOptions = {}): Controller {
  const opts = { serviceVersion: ctx.serviceVersion, operatorNamespace: ctx.operatorNamespace };
  const lasList = ctx.informers.informer<KubeObject>({ type: LAS_TYPE });
  const daemonSets = cacheOwned(ctx, { type: DAEMONSET_TYPE, labelSelector: MANAGED_SELECTOR });
  const secrets = cacheOwned(ctx, { type: SECRET_TYPE, labelSelector: MANAGED_SELECTOR });
  const nodes = ctx.informers.informer<KubeObject>({ type: NODE_TYPE });
  const pods = ctx.informers.informer<KubeObject>({ type: POD_TYPE, labelSelector: `${APP_NAME_LABEL}=${LAS_APP}` });
  const gauges = new ResourceGauges(ctx.manager.metrics, SCALAR, {});
  const caches = [lasList, daemonSets, secrets, nodes, pods];
  const logFacts = new LasLogFactsCache({
    read: (pod, signal) => ctx.client.podLogs(pod, { container: LAS_CONTAINER, ...(signal ? { signal } : {}) }),
  });

  const ownedBy = (list: KubeObject[], las: LAS) =>
    list.filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === las.metadata.uid));

  const finalize = async (las: LAS, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    gauges.remove(las.metadata.name ?? "");
    if (!hasFinalizer(las, FINALIZER)) return undefined;
    // Owned objects go with their owner (ownerReferences). Node labels go now, unless another LAS takes over.
    const successor = primaryOf(lasList.list().filter((l) => l.metadata?.name !== las.metadata.name));
    if (!successor) await patchNodes(ctx, planLasNodeLabels(nodes.list() as V1Node[], new Map(), true), rctx);
    await removeFinalizer(ctx.kit, las, FINALIZER, rctx);
    return undefined;
  };

  const refuse = async (las: LAS, primary: KubeObject, rctx: ReconcileContext) => {
    const message = `LAS ${primary.metadata?.name} is this cluster's LAS; a second LAS is not reconciled`;
    const status: LASStatus = {
      ...las.status,
      state: "UNHEALTHY",
      version: las.status?.version ?? "",
      conditions: notReconciled(
        "NotReconciled",
        message,
        las.status?.conditions as Condition[] | undefined,
        las.metadata.generation,
        new Date(),
      ),
    };
    if (await writeStatus(ctx.kit, las, status, rctx)) ctx.kit.events.record(las, "Warning", "NotReconciled", message);
  };

  const reconcile = async (req: ReconcileRequest, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    await waitForCaches(caches, rctx.signal);
    const found = lasList.get(req.name) as LAS | undefined;
    if (!found) {
      gauges.remove(req.name);
      return undefined;
    }
    rctx.observed = { generation: found.metadata.generation, resourceVersion: found.metadata.resourceVersion };
    if (found.metadata.deletionTimestamp) return finalize(found, rctx);
    const primary = primaryOf(lasList.list());
    if (primary && primary.metadata?.name !== found.metadata.name) {
      await refuse(found, primary, rctx);
      return undefined;
    }

    const las = (await addFinalizer(ctx.kit, found, FINALIZER, rctx)) as LAS;
    const desiredDs = renderLasDaemonSet(las, opts);
    const secret = renderLasDcapSecret(las, opts);
    const desired = secret ? [desiredDs, secret] : [desiredDs];
    const ns = desiredDs.metadata?.namespace ?? "";
    const existed = daemonSets.get(ns, desiredDs.metadata?.name ?? "") !== undefined;
    const [ds] = (await applyOwned(ctx.kit, las, desired, rctx)) as V1DaemonSet[];
    if (!existed && las.status?.state)
      ctx.kit.events.record(
        las,
        "Warning",
        "DaemonSetRecreated",
        `DaemonSet ${ns}/${desiredDs.metadata?.name} was missing and has been created again`,
      );
    // The key Secret once the key is unset, and anything left in a namespace the LAS no longer names.
    await pruneOwned(ctx.kit, [...ownedBy(daemonSets.list(), las), ...ownedBy(secrets.list(), las)], desired, rctx);

    const nodeList = nodes.list() as V1Node[];
    const podList = pods.list() as V1Pod[];
    if (ds && options.readLogs !== false) {
      const running = lasPodsOf(ds, podList).filter((p) => p.status?.phase === "Running");
      await logFacts.refresh(
        running.map((p) => ({
          uid: p.metadata?.uid ?? "",
          namespace: p.metadata?.namespace ?? "",
          name: p.metadata?.name ?? "",
        })),
        rctx.signal,
      );
    }
    const status = deriveLasStatus(las, ds, podList, nodeList, {
      now: new Date(),
      logFacts: (uid) => logFacts.get(uid),
    });
    if (ds)
      await patchNodes(ctx, planLasNodeLabels(nodeList, lasNodeHealth(observeLasNodes(ds, podList, nodeList))), rctx);
    await writeStatus(ctx.kit, las, status, rctx);
    const degraded = status.conditions?.find((c) => c.type === "Degraded")?.message ?? "";
    recordStateTransition(ctx.kit.events, las, las.status?.state, status.state, degraded);
    gauges.set(las, metricValues(status));
    if (status.state !== "HEALTHY") return { requeueAfterMs: RECHECK_MS };
    // Keys show in the log a while after start; look again now and then (reads only).
    const uids =
      Object.values(status.nodes ?? {}).length && ds ? lasPodsOf(ds, podList).map((p) => p.metadata?.uid ?? "") : [];
    return options.readLogs !== false && logFacts.missingKeys(uids) ? { requeueAfterMs: KEY_RECHECK_MS } : undefined;
  };

  const controller = new Controller({
    name: "las",
    reconcile,
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  const all = everyResource(lasList);
  const enqueueAll = () => {
    for (const r of all()) controller.enqueue(r);
  };
  watchMapped(controller, lasList, all); // one per cluster: any change may hand the role to another
  watchOwned(controller, daemonSets, LAS_TYPE, false);
  watchOwned(controller, secrets, LAS_TYPE, false);
  onRelevantNodeChange(nodes, enqueueAll);
  pods.addHandlers({ add: enqueueAll, update: enqueueAll, delete: enqueueAll });
  ctx.manager.addController(controller);
  return controller;
}
