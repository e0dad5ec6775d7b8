// SGXPlugin (base.scone.cloud/v1beta1, cluster-scoped): the SGX device plugin DaemonSet that advertises
// sgx.intel.com/enclave and labels SGX nodes sgx.intel.com/capable=true.

import { autoUpdate, counter, pullPolicyEnum, reinstallOnFatal, serviceState } from "./common-fields.ts";
import { conditions, imagePullSecrets, resourceRequirements, tolerations } from "./core-types.ts";
import { ageColumn, type CustomResource, type ResourceDefinition, stringMap } from "./definition.ts";
import { describe, type Infer, int, int64, map, obj, str } from "./schema.ts";

export const sgxPluginSpec = obj({
  autoUpdate: autoUpdate("SGX plugin"),
  capacitySGXPods: int({
    minimum: 1,
    maximum: 10000,
    hint: "a number of SGX pods per node between 1 and 10000",
    description:
      "Maximum number of SGX devices (pods using SGX) per node. DEFAULT: the largest pod capacity of all nodes when the plugin is created.",
  }),
  image: str({
    minLength: 0,
    description:
      "SGX plugin image. DEFAULT: registry.scontain.com/scone.cloud/sgx-plugin:<operator's SCONE version>; an image without a tag gets that version as tag.",
  }),
  imagePullPolicy: pullPolicyEnum("Image pull policy of the plugin. DEFAULT: Always."),
  imagePullSecrets: imagePullSecrets("Pull secrets of the plugin pods. DEFAULT: []."),
  namespace: str({ description: "Namespace of the plugin pods. DEFAULT: the operator's namespace (scone-system)." }),
  nodeSelector: stringMap("Node labels the plugin pods must match. DEFAULT: {} (all nodes)."),
  podAnnotations: stringMap("Annotations added to the plugin pods. DEFAULT: {}."),
  reinstallOnFatal: reinstallOnFatal(),
  resources: describe(resourceRequirements, "Compute resources of the plugin container. DEFAULT: {}."),
  tolerations: tolerations("Tolerations of the plugin pods. DEFAULT: []."),
});
export type SGXPluginSpec = Infer<typeof sgxPluginSpec>;

const perNode = (description: string) => map(int(), { description: `Per node name: ${description}` });

export const sgxPluginStatus = obj(
  {
    availableSGXDevices: counter("SGX devices allocatable but not used."),
    availableSGXDevicesPerNode: perNode("SGX devices allocatable but not used."),
    capacitySGXDevices: counter("SGX devices allocatable by pods."),
    capacitySGXDevicesPerNode: perNode("SGX devices allocatable by pods."),
    conditions: conditions("Conditions describing the state of the SGX plugin."),
    desiredReplicas: counter("Nodes selected to run the plugin."),
    healthyServingReplicas: counter("Selected SGX-capable nodes with available SGX devices."),
    observedGeneration: int64({ minimum: 0, description: "The metadata.generation this status describes." }),
    readyReplicas: counter("Nodes with a ready plugin pod."),
    servingReplicaRatio: str({ description: "healthyServingReplicas/servingReplicas." }),
    servingReplicas: counter("SGX-capable nodes selected to run the plugin."),
    sgxDeviceAlert: map(int(), {
      description: "Per device category: selected SGX-capable nodes without an available device (-1: unknown).",
    }),
    sgxReplicaAlert: counter("Selected SGX-capable nodes whose plugin pod is not available."),
    state: serviceState("SGX plugin"),
    usedSGXDevices: counter("Pods that have been given an SGX device."),
    usedSGXDevicesPerNode: perNode("pods that have been given an SGX device."),
  },
  {
    required: [
      "availableSGXDevicesPerNode",
      "capacitySGXDevicesPerNode",
      "servingReplicaRatio",
      "state",
      "usedSGXDevicesPerNode",
    ],
    description: "Observed state of the SGX plugin.",
  },
);
export type SGXPluginStatus = Infer<typeof sgxPluginStatus>;

export type SGXPlugin = CustomResource<SGXPluginSpec, SGXPluginStatus, "SGXPlugin">;

export const sgxPluginDefinition: ResourceDefinition<SGXPluginSpec, SGXPluginStatus> = {
  group: "base.scone.cloud",
  version: "v1beta1",
  kind: "SGXPlugin",
  listKind: "SGXPluginList",
  plural: "sgxplugins",
  singular: "sgxplugin",
  shortNames: ["sgx"],
  scope: "Cluster",
  description: "SGXPlugin is the SGX device plugin of the cluster.",
  spec: sgxPluginSpec,
  status: sgxPluginStatus,
  printerColumns: [
    { name: "Status", type: "string", jsonPath: ".status.state", description: "The state of this SGXPlugin" },
    {
      name: "Serving",
      type: "string",
      jsonPath: ".status.servingReplicaRatio",
      description: "The ratio of sgx-capable nodes with available sgx devices",
    },
    {
      name: "Selected",
      type: "string",
      jsonPath: ".status.desiredReplicas",
      description: "The number of selected nodes",
    },
    {
      name: "Ready",
      type: "string",
      jsonPath: ".status.readyReplicas",
      description: "The number of ready plugin pods",
    },
    ageColumn("Age"),
  ],
};
