// The SGXPlugin controller: keeps the plugin DaemonSet, the sgx.intel.com/capable node labels, the status and the
// scone_sgxplugin_* gauges. One SGXPlugin per cluster is reconciled (the oldest); others are told so in status.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { clientListWatch, Informer } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { SGXPLUGIN_GAUGES, SGXPLUGIN_NODE_GAUGES } from "../../metrics/catalog.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { type SGXPlugin, type SGXPluginStatus, sgxPluginDefinition } from "../../resources/sgx-plugin.ts";
import type { Controller } from "../../runtime/controller.ts";
import { cacheOwned, DAEMONSET_TYPE, NODE_TYPE, POD_TYPE } from "../kit/caches.ts";
import { ResourceGauges } from "../kit/gauges.ts";
import { stateMetricValue } from "../kit/health.ts";
import { APP_NAME_LABEL } from "../kit/labels.ts";
import { nodeName, podEnclaveRequest, selectedNodes } from "../node-agent/node-facts.ts";
import { planSgxNodeLabels } from "../node-agent/node-labels.ts";
import { slimPod } from "../node-agent/nodes.ts";
import { type NodeAgentKind, registerNodeAgent } from "../node-agent/reconciler.ts";
import { MANAGED_SELECTOR, type OperatorContext } from "../wiring.ts";
import { renderSgxPluginDaemonSet, SGXPLUGIN_APP } from "./render.ts";
import { deriveSgxPluginStatus, pluginPodsOf, SGX_DEVICE_CATEGORY } from "./status.ts";

export const SGXPLUGIN_TYPE: TypeRef = { apiVersion: apiVersionOf(sgxPluginDefinition), kind: "SGXPlugin" };

const SCALAR = SGXPLUGIN_GAUGES;
const PER_NODE = SGXPLUGIN_NODE_GAUGES;

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
  const resources = ctx.informers.informer<KubeObject>({ type: SGXPLUGIN_TYPE });
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

  const kind: NodeAgentKind<SGXPlugin, SGXPluginStatus> = {
    kind: "SGXPlugin",
    resources,
    daemonSets,
    owned: [daemonSets],
    caches: [resources, daemonSets, nodes, pods],
    nodes,
    render: (plugin) => [renderSgxPluginDaemonSet(plugin, opts)],
    observe: async (plugin, ds) => {
      const nodeList = nodes.list() as V1Node[];
      const podList = pods.list() as V1Pod[];
      const selected = new Set(selectedNodes(ds, nodeList).map(nodeName));
      return {
        status: deriveSgxPluginStatus(plugin, ds, podList, nodeList, { now: new Date() }),
        nodePatches: planSgxNodeLabels(nodeList, pluginPodsOf(ds, podList), selected),
      };
    },
    failedStatus: (plugin, conditions) => ({
      ...plugin.status,
      state: "UNHEALTHY",
      servingReplicaRatio: plugin.status?.servingReplicaRatio ?? "-1/-1",
      capacitySGXDevicesPerNode: plugin.status?.capacitySGXDevicesPerNode ?? {},
      availableSGXDevicesPerNode: plugin.status?.availableSGXDevicesPerNode ?? {},
      usedSGXDevicesPerNode: plugin.status?.usedSGXDevicesPerNode ?? {},
      conditions,
    }),
    removeNodeLabels: (all) => planSgxNodeLabels(all, [], new Set(), true),
    setGauges: (plugin, status) =>
      gauges.set(plugin, metricValues(status), {
        capacity: status.capacitySGXDevicesPerNode,
        available: status.availableSGXDevicesPerNode,
        used: status.usedSGXDevicesPerNode,
      }),
    removeGauges: (name) => gauges.remove(name),
  };

  const { controller, enqueueAll } = registerNodeAgent(ctx, "sgxplugin", kind, SGXPLUGIN_TYPE);
  const fp = (o: KubeObject) => podFingerprint(o as V1Pod);
  const onPod = (o: KubeObject) => {
    if (mattersToPlugin(o as V1Pod)) enqueueAll();
  };
  pods.addHandlers({ add: onPod, delete: onPod, update: (a, b) => fp(a) !== fp(b) && onPod(b) });
  return controller;
}
