import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { SharedInformers } from "../../../../src/kube/shared-informers.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";
import { operatorCacheProjection, projectCasPod } from "../../../../src/operator/cas/cache-projection.ts";
import { podTrouble } from "../../../../src/operator/cas/facts.ts";
import { lostNodeReason } from "../../../../src/operator/cas/relocation.ts";
import { deriveCasStatus } from "../../../../src/operator/cas/status.ts";
import { isPodReady } from "../../../../src/operator/node-agent/node-facts.ts";
import { clusterNodes, healthyObserved, IMAGE, LATER, opts, upstreamCas } from "../../../harness/cas-fixtures.ts";

/** A CAS pod as the API server sends it (what KWOK and a real kubelet report, abridged). */
function fullPod(over: { ready?: boolean; waiting?: string; unschedulable?: boolean; deleting?: boolean } = {}): V1Pod {
  const ready = over.ready ?? true;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "cas-0",
      namespace: "scone",
      uid: "u-pod",
      resourceVersion: "42",
      creationTimestamp: new Date("2026-01-01T11:00:00Z"),
      labels: { "app.kubernetes.io/name": "cas", "app.kubernetes.io/instance": "cas" },
      ...(over.deleting ? { deletionTimestamp: new Date("2026-01-01T12:30:00Z") } : {}),
    },
    spec: {
      nodeName: "sgx-node-1",
      containers: [
        {
          name: "cas",
          image: IMAGE,
          env: [{ name: "SCONE_LOG", value: "INFO" }],
          volumeMounts: [{ name: "database", mountPath: "/etc/cas/db" }],
          readinessProbe: { exec: { command: ["/bin/health"] }, periodSeconds: 10 },
          resources: { limits: { "sgx.intel.com/epc": "1Gi" } },
        },
        { name: "audit", image: "registry.scontain.com/scone.cloud/cas-audit:6.0.6" },
      ],
      volumes: [{ name: "database", persistentVolumeClaim: { claimName: "database-cas-0" } }],
      tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" }],
      serviceAccountName: "cas",
    },
    status: {
      phase: ready ? "Running" : "Pending",
      startTime: new Date("2026-01-01T11:00:05Z"),
      conditions: [
        { type: "Ready", status: ready ? "True" : "False" },
        ...(over.unschedulable
          ? [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/4 nodes are available" }]
          : []),
      ],
      containerStatuses: [
        {
          name: "cas",
          image: IMAGE,
          imageID: "",
          ready,
          restartCount: 0,
          state: over.waiting ? { waiting: { reason: over.waiting } } : { running: {} },
        },
      ],
    },
  };
}

const STATES = {
  ready: fullPod(),
  notReady: fullPod({ ready: false }),
  imagePull: fullPod({ ready: false, waiting: "ImagePullBackOff" }),
  unschedulable: fullPod({ ready: false, unschedulable: true }),
  deleting: fullPod({ deleting: true }),
};

describe("projectCasPod: the CAS pod as the operator's caches keep it", () => {
  test("every reader of the CAS-pod cache answers the same from the projection as from the whole pod", async () => {
    const cas = await upstreamCas("cas.yaml");
    const nodes = clusterNodes(cas, { notReady: ["sgx-node-1"] });
    for (const [state, pod] of Object.entries(STATES)) {
      const kept = projectCasPod(pod) as V1Pod;
      const status = (p: V1Pod) => deriveCasStatus(cas, healthyObserved(cas, { pod: p }), undefined, LATER, opts);
      expect({ state, status: status(kept) }).toEqual({ state, status: status(pod) });
      expect({ state, trouble: podTrouble(kept) }).toEqual({ state, trouble: podTrouble(pod) });
      expect({ state, ready: isPodReady(kept) }).toEqual({ state, ready: isPodReady(pod) });
      expect({ state, lost: lostNodeReason(kept, nodes) }).toEqual({ state, lost: lostNodeReason(pod, nodes) });
      // The audit shipper's look: uid, deletionTimestamp, phase.
      expect([kept.metadata?.uid, kept.metadata?.deletionTimestamp, kept.status?.phase]).toEqual([
        pod.metadata?.uid,
        pod.metadata?.deletionTimestamp,
        pod.status?.phase,
      ]);
      // Deleting a pod off a lost node addresses it by apiVersion, kind, namespace and name.
      expect([kept.apiVersion, kept.kind, kept.metadata?.namespace, kept.metadata?.name]).toEqual([
        "v1",
        "Pod",
        "scone",
        "cas-0",
      ]);
    }
  });

  test("keeps the containers' names and images and the node; drops the rest of spec", () => {
    const kept = projectCasPod(STATES.ready) as V1Pod;
    expect(kept.spec).toEqual({
      nodeName: "sgx-node-1",
      containers: [
        { name: "cas", image: IMAGE },
        { name: "audit", image: "registry.scontain.com/scone.cloud/cas-audit:6.0.6" },
      ],
    });
    expect(kept.status).toEqual(STATES.ready.status as NonNullable<V1Pod["status"]>);
    expect(JSON.stringify(kept).length).toBeLessThan(JSON.stringify(STATES.ready).length * 0.75);
  });

  test("a pod without spec or status stays without them", () => {
    expect(projectCasPod({ metadata: { name: "cas-0", namespace: "scone" } })).toEqual({
      metadata: { name: "cas-0", namespace: "scone" },
    });
  });
});

describe("operatorCacheProjection", () => {
  const pods = { apiVersion: "v1", kind: "Pod" };
  test("applies to the CAS-pod scope only", () => {
    expect(operatorCacheProjection({ type: pods, labelSelector: "app.kubernetes.io/name=cas" })).toBe(projectCasPod);
    for (const scope of [
      { type: pods, labelSelector: "app.kubernetes.io/name=las" },
      { type: pods, labelSelector: "app.kubernetes.io/name=cas", namespace: "scone" },
      { type: pods },
      { type: { apiVersion: "v1", kind: "PersistentVolumeClaim" }, labelSelector: "app.kubernetes.io/name=cas" },
      { type: { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS" } },
    ])
      expect(operatorCacheProjection(scope)).toBeUndefined();
  });

  test("SharedInformers caches each scope's objects as its projection says", async () => {
    const full = fullPod();
    // The two calls of KubeClient an informer makes: one list, then a watch that waits until it is stopped.
    const client = {
      listAll: async () => ({ items: [structuredClone(full)], metadata: { resourceVersion: "1" } }),
      watch: async function* (_type: unknown, o: { signal: AbortSignal; onOpen?: () => void }) {
        o.onOpen?.();
        await new Promise<void>((resolve) => o.signal.addEventListener("abort", () => resolve(), { once: true }));
        yield* [];
      },
    } as unknown as KubeClient;
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const informers = new SharedInformers(client, {
      stripManagedFields: true,
      projection: operatorCacheProjection,
      logger: quiet,
    });
    const casPods = informers.informer<KubeObject>({ type: pods, labelSelector: "app.kubernetes.io/name=cas" });
    const lasPods = informers.informer<KubeObject>({ type: pods, labelSelector: "app.kubernetes.io/name=las" });
    informers.start();
    try {
      await informers.waitForSync();
      expect(casPods.get("scone", "cas-0")).toEqual(projectCasPod(structuredClone(full)));
      expect(lasPods.get("scone", "cas-0")).toEqual(structuredClone(full) as KubeObject);
    } finally {
      await informers.stop();
    }
  });
});
