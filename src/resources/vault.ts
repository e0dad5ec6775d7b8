// Vault (services.scone.cloud/v1beta1): a confidential HashiCorp Vault. Deprecated upstream (CRD removed after
// chart 6.0.0); kept so that existing resources still apply. The spec mirrors vault-helm values.

import { autoUpdate, counter, reinstallOnFatal, serviceState } from "./common-fields.ts";
import { conditions, container, imagePullSecrets, resourceRequirements } from "./core-types.ts";
import { ageColumn, type CustomResource, type ResourceDefinition, stringMap } from "./definition.ts";
import { arr, bool, describe, type Infer, int, int64, map, obj, str } from "./schema.ts";

const DEPRECATED = "Vault support is deprecated upstream and will be removed.";

export const vaultSpec = obj(
  {
    autoUpdate: autoUpdate("Vault"),
    global: obj(
      { imagePullSecrets: imagePullSecrets("Pull secrets of the Vault pods.") },
      { description: "Settings shared by all Vault components." },
    ),
    injector: obj(
      { enabled: bool({ description: "Enables the Vault agent injector." }) },
      { description: "The Vault agent injector." },
    ),
    nodeSelector: stringMap("Node labels the Vault pods must match."),
    reinstallOnFatal: reinstallOnFatal(),
    server: obj(
      {
        dataStorage: map(bool(), { description: 'Data storage settings, e.g. {"enabled": true}.' }),
        dev: map(bool(), { description: 'Dev mode settings, e.g. {"enabled": false}.' }),
        extraEnvironmentVars: stringMap("Extra environment variables of the Vault server."),
        extraInitContainers: arr(container, { description: "Init containers added to the Vault server pod." }),
        image: obj(
          {
            pullPolicy: str({ description: "Always, Never or IfNotPresent." }),
            repository: str({ description: "Image repository of the Vault server." }),
            tag: str({ description: "Image tag of the Vault server." }),
          },
          { description: "Vault server image." },
        ),
        initialdelaySeconds: int({ description: "Initial delay of the server probes in seconds." }),
        path: str({ description: "Path of the Vault server data." }),
        postStart: arr(str(), { description: "Command run after the server container starts." }),
        readinessProbe: map(bool(), { description: 'Readiness probe settings, e.g. {"enabled": false}.' }),
        resources: describe(resourceRequirements, "Compute resources of the Vault server container."),
      },
      { description: "The Vault server." },
    ),
  },
  { required: ["global", "injector", "server"], description: `Desired state of the Vault. ${DEPRECATED}` },
);
export type VaultSpec = Infer<typeof vaultSpec>;

export const vaultStatus = obj(
  {
    conditions: conditions("Conditions describing the state of the Vault."),
    desiredReplicas: counter("Nodes on which the Vault service should run."),
    initStatement: str({
      description:
        "Base64 statement produced by vault-init when it initialized and unsealed Vault, encrypted with the owner's PGP key.",
    }),
    observedGeneration: int64({ minimum: 0, description: "The metadata.generation this status describes." }),
    readyReplicas: counter("Ready Vault pods."),
    sgxReplicaAlert: counter("Expected Vault pods that are not running (expected: 1)."),
    state: serviceState("Vault"),
  },
  { required: ["initStatement", "state"], description: `Observed state of the Vault. ${DEPRECATED}` },
);
export type VaultStatus = Infer<typeof vaultStatus>;

export type Vault = CustomResource<VaultSpec, VaultStatus, "Vault">;

export const vaultDefinition: ResourceDefinition<VaultSpec, VaultStatus> = {
  group: "services.scone.cloud",
  version: "v1beta1",
  kind: "Vault",
  listKind: "VaultList",
  plural: "vaults",
  singular: "vault",
  scope: "Namespaced",
  description: `Vault is a confidential HashiCorp Vault. ${DEPRECATED}`,
  spec: vaultSpec,
  status: vaultStatus,
  printerColumns: [
    { name: "Status", type: "string", jsonPath: ".status.state", description: "The state of this Vault" },
    {
      name: "Desired",
      type: "string",
      jsonPath: ".status.desiredReplicas",
      description: "The number of nodes on which the vault service should be running",
    },
    {
      name: "Ready",
      type: "string",
      jsonPath: ".status.readyReplicas",
      description: "The number of nodes where the vault service is in ready state",
    },
    ageColumn("Age"),
  ],
};
