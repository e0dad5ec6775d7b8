// Fixtures of the CAS unit tests: the upstream manifests (filled in like `kubectl provision` does), nodes, pods and
// the objects the API server would report.
import type { V1Deployment, V1Node, V1Pod, V1PodDisruptionBudget, V1StatefulSet } from "@kubernetes/client-node";
import { parse } from "yaml";
import { registrationLabel } from "../../src/operator/cas/nodes.ts";
import type { CasObserved } from "../../src/operator/cas/status.ts";
import type { CAS } from "../../src/resources/cas.ts";
import { sharedPath } from "./shared.ts";

export const SAMPLES = sharedPath("reference", "upstream-samples", "manifests-6.0.6");
export const NONCE = "0123456789abcdef0123456789abcdef";
export const IMAGE = "registry.scontain.com/scone.cloud/cas:6.0.6";
export const opts = { serviceVersion: "6.0.6", operatorNamespace: "scone-system" };

/** An upstream manifest with envsubst's variables filled in and `  nonce:` appended under spec. */
export async function upstreamCas(file: string, vars: Record<string, string> = {}): Promise<CAS> {
  const all: Record<string, string> = {
    NAME: "cas",
    NAMESPACE: "scone",
    IMAGE,
    POLICY_NAME: "cas-owner/primary-backup",
    IMAGE_REPO: "registry.scontain.com/scone.cloud",
    IMAGE_PREFIX: "",
    ...vars,
  };
  const text = (await Bun.file(`${SAMPLES}/${file}`).text()).replace(
    /\$\{?([A-Z_]+)\}?/g,
    (_m, v: string) => all[v] ?? "",
  );
  const cas = parse(`${text.trimEnd()}\n  nonce: ${NONCE}\n`) as CAS;
  cas.metadata = { ...cas.metadata, uid: "u-cas", generation: 1, creationTimestamp: new Date("2026-01-01T00:00:00Z") };
  return cas;
}

export const T0 = new Date("2026-01-01T12:00:00Z");
/** Long after every object was created: problems are no longer "settling". */
export const LATER = new Date("2026-01-01T13:00:00Z");

export function node(
  name: string,
  zone: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; ready?: boolean } = {},
): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: { "topology.kubernetes.io/zone": zone, "kubernetes.io/hostname": name, ...extra.labels },
      annotations: extra.annotations ?? {},
    },
    status: { conditions: [{ type: "Ready", status: extra.ready === false ? "Unknown" : "True" }] },
  };
}

export const SGX_LABELS = {
  "sgx.intel.com/capable": "true",
  "las.scontain.com/capable": "true",
  "las.scontain.com/ok": "true",
};
/** The backup controller's registration label of this CAS at `version` (the fixtures run 6.0.6). */
export const registered = (cas: CAS, version = "6.0.6") => ({
  [registrationLabel(cas.metadata.namespace ?? "", cas.metadata.name ?? "", version) ?? ""]: "true",
});

/** The test cluster's layout: sgx-node-1/2 in zone-a, sgx-node-3 in zone-b, plain-node-1 without SGX. */
export function clusterNodes(cas: CAS, opts: { registered?: string[]; notReady?: string[] } = {}): V1Node[] {
  const reg = opts.registered ?? ["sgx-node-1", "sgx-node-2", "sgx-node-3"];
  const sgx = (name: string, zone: string) =>
    node(name, zone, {
      labels: { ...SGX_LABELS, ...(reg.includes(name) ? registered(cas) : {}) },
      ready: !opts.notReady?.includes(name),
    });
  return [
    sgx("sgx-node-1", "zone-a"),
    sgx("sgx-node-2", "zone-a"),
    sgx("sgx-node-3", "zone-b"),
    node("plain-node-1", "zone-b"),
  ];
}

export function readyPod(nodeName: string, image = IMAGE, ready = true): V1Pod {
  return {
    metadata: { name: "cas-0", namespace: "scone", uid: "u-pod", creationTimestamp: new Date("2026-01-01T11:00:00Z") },
    spec: { nodeName, containers: [{ name: "cas", image }] },
    status: {
      phase: ready ? "Running" : "Pending",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

export function statefulSet(image = IMAGE): V1StatefulSet {
  return {
    metadata: { name: "cas", namespace: "scone", generation: 1, creationTimestamp: new Date("2026-01-01T11:00:00Z") },
    spec: {
      selector: {},
      serviceName: "cas",
      template: { spec: { containers: [{ name: "cas", image }] } },
    },
    status: { replicas: 1, observedGeneration: 1, currentRevision: "r1", updateRevision: "r1" },
  };
}

export function deployment(name: string, image: string, available: number, replicas = 1): V1Deployment {
  return {
    metadata: { name, namespace: "scone", generation: 1 },
    spec: { replicas, selector: {}, template: { spec: { containers: [{ name: "c", image }] } } },
    status: { observedGeneration: 1, replicas, updatedReplicas: replicas, availableReplicas: available },
  };
}

export function pdb(name: string, allowed: number, healthy = 1, desiredHealthy = 1): V1PodDisruptionBudget {
  return {
    metadata: { name, namespace: "scone", generation: 1 },
    status: {
      observedGeneration: 1,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy,
      expectedPods: healthy,
    },
  };
}

/** A CAS that runs fine on sgx-node-1, everything in place. */
export function healthyObserved(cas: CAS, over: Partial<CasObserved> = {}): CasObserved {
  return {
    statefulSet: statefulSet(),
    pod: readyPod("sgx-node-1"),
    pvcs: [],
    backupController: deployment("cas-backup-controller", "bc:6.0.6", 1),
    safetyService: deployment("cas-safety-service", "ss:6.0.6", 3, 3),
    podDisruptionBudget: pdb("cas", 0),
    safetyServicePodDisruptionBudget: pdb("cas-safety-service", 1, 3, 2),
    nodes: clusterNodes(cas),
    ...over,
  };
}
