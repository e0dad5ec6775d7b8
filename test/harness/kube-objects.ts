// Small builders of Nodes, Pods and DaemonSets as the API server reports them, for the status and label tables.
import type { V1DaemonSet, V1Node, V1Pod } from "@kubernetes/client-node";

export const NOW = new Date("2026-11-23T12:00:00Z");
/** Long before NOW: past the progress deadline. */
export const LONG_AGO = "2026-11-23T10:00:00Z";
/** Shortly before NOW: within the progress deadline. */
export const JUST_NOW = "2026-11-23T11:59:00Z";

export function node(
  name: string,
  o: { enclave?: number; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: o.labels ?? {}, ...(o.annotations ? { annotations: o.annotations } : {}) },
    status: {
      allocatable: { cpu: "8", ...(o.enclave === undefined ? {} : { "sgx.intel.com/enclave": String(o.enclave) }) },
    },
  };
}

/** Three SGX nodes (labelled, 20 devices each) and one plain node. */
export const clusterNodes = (): V1Node[] => [
  node("sgx-1", { enclave: 20, labels: { "sgx.intel.com/capable": "true" } }),
  node("sgx-2", { enclave: 20, labels: { "sgx.intel.com/capable": "true" } }),
  node("sgx-3", { enclave: 20, labels: { "sgx.intel.com/capable": "true" } }),
  node("plain-1"),
];

export function pod(
  name: string,
  nodeName: string,
  o: {
    app?: string;
    namespace?: string;
    ready?: boolean;
    phase?: string;
    enclave?: number;
    created?: string;
    containersReady?: Record<string, boolean>;
    uid?: string;
    image?: string;
  } = {},
): V1Pod {
  const ready = o.ready ?? true;
  const containers = Object.keys(o.containersReady ?? { main: ready });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "scone-system",
      uid: o.uid ?? `uid-${name}`,
      labels: o.app ? { "app.kubernetes.io/name": o.app } : {},
      creationTimestamp: (o.created ?? LONG_AGO) as unknown as Date,
    },
    spec: {
      nodeName,
      containers: containers.map((c, i) => ({
        name: c,
        image: o.image ?? "registry.example/las:1.2.3",
        ...(i === 0 && o.enclave ? { resources: { limits: { "sgx.intel.com/enclave": String(o.enclave) } } } : {}),
      })),
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: LONG_AGO as unknown as Date },
      ],
      containerStatuses: containers.map((c) => ({
        name: c,
        ready: o.containersReady?.[c] ?? ready,
        image: o.image ?? "registry.example/las:1.2.3",
        imageID: "",
        restartCount: 0,
        state: { running: { startedAt: LONG_AGO as unknown as Date } },
      })),
    },
  };
}

export function daemonSet(
  name: string,
  o: {
    nodeSelector?: Record<string, string>;
    desired?: number;
    ready?: number;
    available?: number;
    updated?: number;
    generation?: number;
    observedGeneration?: number;
    created?: string;
    noStatus?: boolean;
    image?: string;
  } = {},
): V1DaemonSet {
  const desired = o.desired ?? 0;
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      name,
      namespace: "scone-system",
      generation: o.generation ?? 1,
      creationTimestamp: (o.created ?? LONG_AGO) as unknown as Date,
    },
    spec: {
      selector: { matchLabels: { "app.kubernetes.io/name": name } },
      template: {
        spec: {
          ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
          containers: [{ name: name === "las" ? "las" : "sgxplugin", image: o.image ?? "registry.example/las:1.2.3" }],
        },
      },
    },
    ...(o.noStatus
      ? {}
      : {
          status: {
            desiredNumberScheduled: desired,
            currentNumberScheduled: desired,
            numberMisscheduled: 0,
            numberReady: o.ready ?? desired,
            numberAvailable: o.available ?? o.ready ?? desired,
            updatedNumberScheduled: o.updated ?? desired,
            observedGeneration: o.observedGeneration ?? o.generation ?? 1,
          },
        }),
  };
}
