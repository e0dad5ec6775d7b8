// LAS (base.scone.cloud/v1beta1, cluster-scoped): the SCONE Local Attestation Service, a DaemonSet on SGX nodes.

import { autoUpdate, counter, pullPolicyEnum, serviceState } from "./common-fields.ts";
import {
  conditions,
  imagePullSecrets,
  podSecurityContext,
  resourceRequirements,
  securityContext,
  tolerations,
} from "./core-types.ts";
import { ageColumn, type CustomResource, type ResourceDefinition, stringMap } from "./definition.ts";
import { arr, bool, describe, type Infer, int32, int64, map, obj, str } from "./schema.ts";

export const lasSpec = obj({
  autoUpdate: autoUpdate("LAS"),
  containerSecurityContextLAS: describe(
    securityContext,
    "Security context of the LAS container. DEFAULT: allowPrivilegeEscalation false, capabilities drop ALL.",
  ),
  containerSecurityContextProbe: describe(
    securityContext,
    "Security context of the probe container. DEFAULT: allowPrivilegeEscalation false, capabilities drop ALL.",
  ),
  dcapKey: str({ description: 'API key for Intel\'s provisioning certification service (DCAP). DEFAULT: "".' }),
  hostPort: int32({
    default: 18766,
    description:
      "Host port of LAS on every node; applications reach their node's LAS at status.hostIP:hostPort (SCONE_LAS_ADDR).",
  }),
  image: str({
    description:
      "LAS image. DEFAULT: registry.scontain.com/scone.cloud/las:<operator's SCONE version>; an image without a tag gets that version as tag.",
  }),
  imagePullPolicy: pullPolicyEnum("Image pull policy of the LAS containers.", "Always"),
  imagePullSecrets: imagePullSecrets("Pull secrets of the LAS pods. DEFAULT: []."),
  namespace: str({
    description:
      "Namespace of the LAS pods (LAS itself is cluster-scoped). DEFAULT: the operator's namespace (scone-system).",
  }),
  nodeSelector: stringMap(
    "Node labels the LAS pods must match. sgx.intel.com/capable=true is added when the key is absent.",
  ),
  podAnnotations: stringMap("Annotations added to the LAS pods. DEFAULT: {}."),
  podSecurityContext: describe(
    podSecurityContext,
    "Security context of the LAS pods. DEFAULT: runAsNonRoot true, seccompProfile RuntimeDefault (5.8.x images: runAsNonRoot false).",
  ),
  resources: describe(
    resourceRequirements,
    "Compute resources of the LAS container. The limit sgx.intel.com/enclave: 1 is always set, even when given as 0.",
  ),
  tolerations: tolerations("Tolerations of the LAS pods. DEFAULT: []."),
});
export type LASSpec = Infer<typeof lasSpec>;

export const lasNode = obj(
  {
    errorMessages: arr(str(), { description: "Errors met while collecting this node's information." }),
    hasDCAPQuote: bool({ description: "Whether the node supports DCAP quotes." }),
    hasEPIDQuote: bool({ description: "Whether the node supports EPID quotes." }),
    isReady: bool({ description: "Whether the LAS API listens on the configured port." }),
    lasProbeAlert: int32({ description: "-1: probe could not run; 0: probe succeeded; 1: probe failed." }),
    lastComputedAt: int64({ description: "Unix time when the LAS pod log was last inspected." }),
    lastProbedAt: int64({ description: "Unix time when lasProbeAlert was last computed." }),
    lastRunningStartedAt: int64({ description: "Unix time when the LAS pod started." }),
    publicKey: str({ description: "Public key of the quoting enclave, from the LAS pod log (platform id)." }),
  },
  {
    required: [
      "hasDCAPQuote",
      "hasEPIDQuote",
      "isReady",
      "lasProbeAlert",
      "lastComputedAt",
      "lastProbedAt",
      "lastRunningStartedAt",
      "publicKey",
    ],
    description: "The LAS instance of one node.",
  },
);
export type LASNode = Infer<typeof lasNode>;

export const lasStatus = obj(
  {
    conditions: conditions("Conditions describing the state of the LAS."),
    desiredNumberScheduled: counter("Nodes selected to run a LAS pod.", "int32"),
    lasProbeAlert: counter("Nodes where the LAS probe fails (0: succeeds everywhere).", "int32"),
    lasReplicaAlert: counter("Expected LAS pods that are not running.", "int32"),
    nodes: map(lasNode, { description: "Per node name: the node's LAS instance." }),
    numberAvailable: counter("Nodes with a ready LAS pod.", "int32"),
    observedGeneration: int64({ minimum: 0, description: "The metadata.generation this status describes." }),
    state: serviceState("LAS"),
    version: str({ description: "LAS version observed in the LAS pods." }),
  },
  { required: ["state", "version"], description: "Observed state of the LAS." },
);
export type LASStatus = Infer<typeof lasStatus>;

export type LAS = CustomResource<LASSpec, LASStatus, "LAS">;

export const lasDefinition: ResourceDefinition<LASSpec, LASStatus> = {
  group: "base.scone.cloud",
  version: "v1beta1",
  kind: "LAS",
  listKind: "LASList",
  plural: "las",
  singular: "las",
  shortNames: ["las"],
  scope: "Cluster",
  description: "LAS is the SCONE Local Attestation Service, one pod per SGX node.",
  spec: lasSpec,
  status: lasStatus,
  printerColumns: [
    { name: "STATUS", type: "string", jsonPath: ".status.state", description: "The state of this LAS" },
    { name: "AVAILABLE", type: "string", jsonPath: ".status.numberAvailable" },
    { name: "DESIRED", type: "string", jsonPath: ".status.desiredNumberScheduled" },
    { name: "VERSION", type: "string", jsonPath: ".status.version" },
    ageColumn("AGE"),
    { name: "NODES", type: "string", jsonPath: ".status.nodes", priority: 1 },
  ],
};
