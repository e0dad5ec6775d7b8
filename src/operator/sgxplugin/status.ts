// SGXPlugin status from what the cluster shows (pure): the plugin DaemonSet, the pods (plugin pods and every pod
// holding SGX devices) and the nodes. Field meanings follow the upstream CRD; -1 means "could not be calculated".
import type { V1DaemonSet, V1Node, V1Pod } from "@kubernetes/client-node";
import { SGXPLUGIN_REASON } from "../../resources/service-conditions.ts";
import type { SGXPlugin, SGXPluginStatus } from "../../resources/sgx-plugin.ts";
import { agentPodsOf, assessAgent } from "../node-agent/agent-health.ts";
import {
  enclaveUsageByNode,
  isPodReady,
  isSgxNode,
  nodeName,
  podsByNode,
  selectedNodes,
  sgxCapacity,
} from "../node-agent/node-facts.ts";
import { SGXPLUGIN_APP } from "./render.ts";

/** Device category of the upstream 6.x sgxDeviceAlert map (7.0 adds Scone and SconeAny). */
export const SGX_DEVICE_CATEGORY = "SGX";

export interface DeriveOptions {
  readonly now: Date;
}

/** The plugin's own pods: labelled app.kubernetes.io/name=sgxplugin in the DaemonSet's namespace. */
export const pluginPodsOf = (ds: V1DaemonSet, pods: readonly V1Pod[]): V1Pod[] => agentPodsOf(ds, pods, SGXPLUGIN_APP);

const sum = (xs: Iterable<number>) => {
  let s = 0;
  for (const x of xs) s += x;
  return s;
};

/**
 * `daemonSet` undefined: not created yet. `pods` / `nodes` undefined: not observable (every figure depending on
 * them is -1). `pods` are all pods of the cluster that may hold SGX devices, the plugin's own pods included.
 */
export function deriveSgxPluginStatus(
  plugin: SGXPlugin,
  daemonSet: V1DaemonSet | undefined,
  pods: readonly V1Pod[] | undefined,
  nodes: readonly V1Node[] | undefined,
  opts: DeriveOptions,
): SGXPluginStatus {
  const generation = plugin.metadata.generation;
  const dsStatus = daemonSet?.status;
  const desiredReplicas = dsStatus ? dsStatus.desiredNumberScheduled : -1;
  const readyReplicas = dsStatus ? dsStatus.numberReady : -1;

  const serving = daemonSet && nodes ? selectedNodes(daemonSet, nodes).filter(isSgxNode) : undefined;
  const usage = pods ? enclaveUsageByNode(pods) : undefined;
  const pluginPods = daemonSet && pods ? podsByNode(pluginPodsOf(daemonSet, pods)) : undefined;

  const capacityPerNode: Record<string, number> = {};
  const usedPerNode: Record<string, number> = {};
  const availablePerNode: Record<string, number> = {};
  for (const node of serving ?? []) {
    const name = nodeName(node);
    const capacity = sgxCapacity(node);
    capacityPerNode[name] = capacity;
    if (usage) {
      const used = usage.get(name) ?? 0;
      usedPerNode[name] = used;
      availablePerNode[name] = Math.max(capacity - used, 0);
    }
  }
  const servingReplicas = serving ? serving.length : -1;
  const healthyServingReplicas =
    serving && usage ? serving.filter((n) => (availablePerNode[nodeName(n)] ?? 0) > 0).length : -1;
  const sgxReplicaAlert =
    serving && pluginPods
      ? serving.filter((n) => {
          const pod = pluginPods.get(nodeName(n));
          return !pod || !isPodReady(pod);
        }).length
      : -1;
  const deviceAlert = serving && usage ? serving.length - healthyServingReplicas : -1;

  const { state, conditions } = assessAgent({
    what: "plugin",
    resource: plugin,
    daemonSet,
    agentPods: [...(pluginPods?.values() ?? [])],
    observable: Boolean(nodes && pods),
    servedNodes: servingReplicas,
    noNodes: {
      reason: SGXPLUGIN_REASON.NoSGXNodes,
      message: "no selected node offers SGX (no sgx.intel.com/enclave devices, no sgx.intel.com/capable label)",
    },
    shortfalls: [
      {
        count: sgxReplicaAlert,
        reason: SGXPLUGIN_REASON.PluginPodsUnavailable,
        message: `${sgxReplicaAlert} of ${servingReplicas} SGX nodes have no ready plugin pod`,
      },
      {
        count: deviceAlert,
        reason: SGXPLUGIN_REASON.NoAvailableSGXDevices,
        message: `${deviceAlert} of ${servingReplicas} SGX nodes have no available SGX device`,
      },
    ],
    healthyMessage: `${healthyServingReplicas} of ${servingReplicas} SGX nodes serve SGX devices`,
    now: opts.now,
  });

  const known = serving !== undefined && usage !== undefined;
  return {
    state,
    conditions,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    desiredReplicas,
    readyReplicas,
    servingReplicas,
    healthyServingReplicas,
    servingReplicaRatio: `${healthyServingReplicas}/${servingReplicas}`,
    sgxReplicaAlert,
    sgxDeviceAlert: { [SGX_DEVICE_CATEGORY]: deviceAlert },
    capacitySGXDevices: serving ? sum(Object.values(capacityPerNode)) : -1,
    usedSGXDevices: known ? sum(Object.values(usedPerNode)) : -1,
    availableSGXDevices: known ? sum(Object.values(availablePerNode)) : -1,
    capacitySGXDevicesPerNode: capacityPerNode,
    usedSGXDevicesPerNode: usedPerNode,
    availableSGXDevicesPerNode: availablePerNode,
  };
}
