// The SGXPlugin controller: keeps the plugin DaemonSet, the sgx.intel.com/capable node labels, the status and the
// scone_sgxplugin_* gauges. One SGXPlugin per cluster is reconciled (the oldest); others are told so in status.
import type { V1DaemonSet, V1Node, V1Pod } from "@kubernetes/client-node";
import { clientListWatch, Informer } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { type SGXPlugin, type SGXPluginStatus, sgxPluginDefinition } from "../../resources/sgx-plugin.ts";
import type { Condition } from "../../runtime/conditions.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
} from "../../runtime/controller.ts";
import { addFinalizer, applyOwned, hasFinalizer, pruneOwned, removeFinalizer, writeStatus } from "../reconcile-kit.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchMapped, watchOwned } from "../wiring.ts";
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
  slimPod,
  waitForCaches,
} from "./controller-support.ts";
import { notReconciled, stateMetricValue } from "./health.ts";
import { APP_NAME_LABEL, nodeName, podEnclaveRequest, selectedNodes } from "./node-facts.ts";
import { planSgxNodeLabels } from "./node-labels.ts";
import { renderSgxPluginDaemonSet, SGXPLUGIN_APP } from "./render.ts";
import { deriveSgxPluginStatus, pluginPodsOf, SGX_DEVICE_CATEGORY } from "./status.ts";

export const SGXPLUGIN_TYPE: TypeRef = { apiVersion: apiVersionOf(sgxPluginDefinition), kind: "SGXPlugin" };

const g = (name: string, help: string) => ({ name: `scone_sgxplugin_${name}`, help });
const SCALAR = {
  state: g("state", "State of the SGXPlugin: 1 HEALTHY, 0 PENDING, -1 UNHEALTHY."),
  desiredReplicas: g("desired_replicas", "Nodes selected to run the SGX plugin."),
  readyReplicas: g("ready_replicas", "Nodes with a ready SGX plugin pod."),
  servingReplicas: g("serving_replicas", "Selected SGX-capable nodes."),
  healthyServingReplicas: g("healthy_serving_replicas", "Selected SGX-capable nodes with available SGX devices."),
  servingReplicaRatio: g("serving_replica_ratio", "healthy_serving_replicas / serving_replicas (-1: unknown)."),
  sgxReplicaAlert: g("sgx_replica_alert", "Selected SGX-capable nodes without an available plugin pod."),
  sgxDeviceAlert: g("sgx_device_alert", "Selected SGX-capable nodes without an available SGX device."),
  capacitySGXDevices: g("capacity_sgx_devices", "SGX devices allocatable by pods."),
  availableSGXDevices: g("available_sgx_devices", "SGX devices allocatable and not used."),
  usedSGXDevices: g("used_sgx_devices", "SGX devices held by pods."),
} as const;
const PER_NODE = {
  capacity: g("capacity_sgx_devices_per_node", "SGX devices allocatable by pods, per node."),
  available: g("available_sgx_devices_per_node", "SGX devices allocatable and not used, per node."),
  used: g("used_sgx_devices_per_node", "SGX devices held by pods, per node."),
} as const;

function metricValues(s: SGXPluginStatus): Record<keyof typeof SCALAR, number> {
  const ratio =
    (s.servingReplicas ?? -1) > 0 && (s.healthyServingReplicas ?? -1) >= 0
      ? (s.healthyServingReplicas ?? 0) / (s.servingReplicas ?? 1)
      : -1;
  return {
    state: stateMetricValue(s.state),
    desiredReplicas: s.desiredReplicas ?? -1,
    readyReplicas: s.readyReplicas ?? -1,
    servingReplicas: s.servingReplicas ?? -1,
    healthyServingReplicas: s.healthyServingReplicas ?? -1,
    servingReplicaRatio: ratio,
    sgxReplicaAlert: s.sgxReplicaAlert ?? -1,
    sgxDeviceAlert: s.sgxDeviceAlert?.[SGX_DEVICE_CATEGORY] ?? -1,
    capacitySGXDevices: s.capacitySGXDevices ?? -1,
    availableSGXDevices: s.availableSGXDevices ?? -1,
    usedSGXDevices: s.usedSGXDevices ?? -1,
  };
}

/** What a pod event may change in the plugin's status: placement, phase, readiness, devices held. */
const podFingerprint = (p: V1Pod) =>
  JSON.stringify([
    p.spec?.nodeName ?? "",
    p.status?.phase ?? "",
    p.metadata?.deletionTimestamp ?? "",
    p.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "",
    podEnclaveRequest(p),
  ]);
const mattersToPlugin = (p: V1Pod) =>
  podEnclaveRequest(p) > 0 || p.metadata?.labels?.[APP_NAME_LABEL] === SGXPLUGIN_APP;

export function registerSgxPluginController(ctx: OperatorContext): Controller {
  const opts = { serviceVersion: ctx.serviceVersion, operatorNamespace: ctx.operatorNamespace };
  const plugins = ctx.informers.informer<KubeObject>({ type: SGXPLUGIN_TYPE });
  const daemonSets = cacheOwned(ctx, { type: DAEMONSET_TYPE, labelSelector: MANAGED_SELECTOR });
  const nodes = ctx.informers.informer<KubeObject>({ type: NODE_TYPE });
  // Every pod of the cluster, slimmed: devices in use are the enclave requests of all pods on a node.
  const pods = new Informer<KubeObject>(clientListWatch(ctx.client, { type: POD_TYPE }), {
    name: "pods (SGX device usage)",
    stripManagedFields: true,
    transform: (p) => slimPod(p as V1Pod),
    logger: ctx.log.child({ component: "kube" }),
  });
  ctx.manager.addAlways({ name: "informer/pods-sgx-usage", start: () => pods.start(), stop: () => pods.stop() });
  ctx.manager.readiness.add("informer/pods-sgx-usage", () => {
    const h = pods.health();
    return h.healthy ? { ok: true } : { ok: false, reason: h.reason ?? "unhealthy" };
  });
  const gauges = new ResourceGauges(ctx.manager.metrics, SCALAR, PER_NODE);
  const caches = [plugins, daemonSets, nodes, pods];

  const finalize = async (plugin: SGXPlugin, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    gauges.remove(plugin.metadata.name ?? "");
    if (!hasFinalizer(plugin, FINALIZER)) return undefined;
    // The DaemonSet goes with its owner (ownerReferences). Labels we set go now, unless another SGXPlugin takes over.
    const successor = primaryOf(plugins.list().filter((p) => p.metadata?.name !== plugin.metadata.name));
    if (!successor) await patchNodes(ctx, planSgxNodeLabels(nodes.list() as V1Node[], [], new Set(), true), rctx);
    await removeFinalizer(ctx.kit, plugin, FINALIZER, rctx);
    return undefined;
  };

  const refuse = async (plugin: SGXPlugin, primary: KubeObject, rctx: ReconcileContext) => {
    const message = `SGXPlugin ${primary.metadata?.name} is this cluster's SGX plugin; a second SGXPlugin is not reconciled`;
    const status: SGXPluginStatus = {
      ...plugin.status,
      state: "UNHEALTHY",
      servingReplicaRatio: plugin.status?.servingReplicaRatio ?? "-1/-1",
      capacitySGXDevicesPerNode: plugin.status?.capacitySGXDevicesPerNode ?? {},
      availableSGXDevicesPerNode: plugin.status?.availableSGXDevicesPerNode ?? {},
      usedSGXDevicesPerNode: plugin.status?.usedSGXDevicesPerNode ?? {},
      conditions: notReconciled(
        "NotReconciled",
        message,
        plugin.status?.conditions as Condition[] | undefined,
        plugin.metadata.generation,
        new Date(),
      ),
    };
    if (await writeStatus(ctx.kit, plugin, status, rctx))
      ctx.kit.events.record(plugin, "Warning", "NotReconciled", message);
  };

  const reconcile = async (req: ReconcileRequest, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    await waitForCaches(caches, rctx.signal);
    const found = plugins.get(req.name) as SGXPlugin | undefined;
    if (!found) {
      gauges.remove(req.name);
      return undefined;
    }
    rctx.observed = { generation: found.metadata.generation, resourceVersion: found.metadata.resourceVersion };
    if (found.metadata.deletionTimestamp) return finalize(found, rctx);
    const primary = primaryOf(plugins.list());
    if (primary && primary.metadata?.name !== found.metadata.name) {
      await refuse(found, primary, rctx);
      return undefined;
    }

    const plugin = (await addFinalizer(ctx.kit, found, FINALIZER, rctx)) as SGXPlugin;
    const desired = renderSgxPluginDaemonSet(plugin, opts);
    const ns = desired.metadata?.namespace ?? "";
    const existed = daemonSets.get(ns, desired.metadata?.name ?? "") !== undefined;
    const [ds] = (await applyOwned(ctx.kit, plugin, [desired], rctx)) as V1DaemonSet[];
    if (!existed && plugin.status?.state)
      ctx.kit.events.record(
        plugin,
        "Warning",
        "DaemonSetRecreated",
        `DaemonSet ${ns}/${desired.metadata?.name} was missing and has been created again`,
      );
    // A DaemonSet left in a namespace the plugin no longer names.
    const ownedElsewhere = daemonSets
      .list()
      .filter((d) => d.metadata?.ownerReferences?.some((o) => o.uid === plugin.metadata.uid))
      .filter((d) => d.metadata?.namespace !== ns);
    await pruneOwned(ctx.kit, ownedElsewhere, [desired], rctx);

    const nodeList = nodes.list() as V1Node[];
    const podList = pods.list() as V1Pod[];
    const status = deriveSgxPluginStatus(plugin, ds, podList, nodeList, { now: new Date() });
    if (ds) {
      const selected = new Set(selectedNodes(ds, nodeList).map(nodeName));
      await patchNodes(ctx, planSgxNodeLabels(nodeList, pluginPodsOf(ds, podList), selected), rctx);
    }
    await writeStatus(ctx.kit, plugin, status, rctx);
    const degraded = status.conditions?.find((c) => c.type === "Degraded")?.message ?? "";
    recordStateTransition(ctx.kit.events, plugin, plugin.status?.state, status.state, degraded);
    gauges.set(plugin, metricValues(status), {
      capacity: status.capacitySGXDevicesPerNode,
      available: status.availableSGXDevicesPerNode,
      used: status.usedSGXDevicesPerNode,
    });
    return status.state === "HEALTHY" ? undefined : { requeueAfterMs: RECHECK_MS };
  };

  const controller = new Controller({
    name: "sgxplugin",
    reconcile,
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  const all = everyResource(plugins);
  watchMapped(controller, plugins, all); // one per cluster: any change may hand the role to another
  watchOwned(controller, daemonSets, SGXPLUGIN_TYPE, false);
  onRelevantNodeChange(nodes, () => {
    for (const r of all()) controller.enqueue(r);
  });
  const fp = (o: KubeObject) => podFingerprint(o as V1Pod);
  const onPod = (o: KubeObject) => {
    if (mattersToPlugin(o as V1Pod)) for (const r of all()) controller.enqueue(r);
  };
  pods.addHandlers({ add: onPod, delete: onPod, update: (a, b) => fp(a) !== fp(b) && onPod(b) });
  ctx.manager.addController(controller);
  return controller;
}
