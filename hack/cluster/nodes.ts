// The simulated nodes: three SGX-capable ones across two zones and one without SGX, all run by kwok.
import type { V1Node } from "@kubernetes/client-node";
import { SGX_CAPABLE_LABEL, SGX_ENCLAVE_RESOURCE } from "../../src/resources/defaults.ts";
import { KWOK_NODE_ANNOTATION } from "./components.ts";

export const ZONE_LABEL = "topology.kubernetes.io/zone";

export interface SimulatedNodeSpec {
  readonly name: string;
  readonly zone: string;
  readonly sgx: boolean;
}

export const SIMULATED_NODES: readonly SimulatedNodeSpec[] = [
  { name: "sgx-node-1", zone: "zone-a", sgx: true },
  { name: "sgx-node-2", zone: "zone-a", sgx: true },
  { name: "sgx-node-3", zone: "zone-b", sgx: true },
  { name: "plain-node-1", zone: "zone-b", sgx: false },
];

export function nodeManifest(spec: SimulatedNodeSpec): V1Node {
  const resources: Record<string, string> = { cpu: "8", memory: "32Gi", pods: "110" };
  if (spec.sgx) resources[SGX_ENCLAVE_RESOURCE] = "20";
  const labels: Record<string, string> = {
    "kubernetes.io/hostname": spec.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    [ZONE_LABEL]: spec.zone,
    type: "kwok",
  };
  if (spec.sgx) labels[SGX_CAPABLE_LABEL] = "true";
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: spec.name,
      labels,
      annotations: { [KWOK_NODE_ANNOTATION.key]: KWOK_NODE_ANNOTATION.value, "node.alpha.kubernetes.io/ttl": "0" },
    },
    // Status given at creation is kept for Nodes; kwok's node-initialize stage keeps capacity and addresses that are
    // already set, adds the conditions and points daemonEndpoints at its own server.
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: "InternalIP", address: "127.0.0.1" },
        { type: "Hostname", address: spec.name },
      ],
    },
  };
}
