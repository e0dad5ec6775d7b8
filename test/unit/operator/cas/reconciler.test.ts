// The CAS reconcile's composition without a cluster (observe → plan → apply → report): caches are lists, the client
// records what it is asked, the probe is a stand-in that counts its calls.
import { describe, expect, test } from "bun:test";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";
import { MetricsRegistry } from "../../../../src/metrics/registry.ts";
import { CAS_GAUGES } from "../../../../src/operator/cas/metrics.ts";
import { CAS_FINALIZER } from "../../../../src/operator/cas/names.ts";
import { RelocationMemory } from "../../../../src/operator/cas/observe.ts";
import type { CasProbeResult } from "../../../../src/operator/cas/probe.ts";
import { type CasReconcilerDeps, casReconciler } from "../../../../src/operator/cas/reconciler.ts";
import { ResourceGauges } from "../../../../src/operator/kit/gauges.ts";
import type { OperatorContext } from "../../../../src/operator/wiring.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";
import { clusterNodes, LATER, opts, readyPod, statefulSet, upstreamCas } from "../../../harness/cas-fixtures.ts";
import { syncedCache } from "../kit/synced-cache.ts";

const cache = syncedCache;

interface Cluster {
  cas: CAS[];
  pods?: unknown[];
  statefulSets?: unknown[];
  nodes?: unknown[];
  clusterBindings?: unknown[];
  pvcs?: unknown[];
  probe?: CasProbeResult;
}

function world(c: Cluster) {
  const calls: string[] = [];
  const events: string[] = [];
  const statuses: Record<string, unknown>[] = [];
  let probes = 0;
  const client = {
    tryGet: async () => undefined,
    apply: async (o: KubeObject) => {
      calls.push(`apply ${o.kind} ${o.metadata?.name}`);
      return o;
    },
    applyStatus: async (o: KubeObject & { status?: Record<string, unknown> }) => {
      statuses.push(o.status ?? {});
      return o;
    },
    patch: async (ref: ObjectRef, patch: unknown) => {
      calls.push(`patch ${ref.kind} ${ref.name} ${JSON.stringify(patch)}`);
      const found = c.cas.find((o) => o.metadata.name === ref.name) as CAS;
      const adding = JSON.stringify(patch).includes('"op":"add"');
      return { ...found, metadata: { ...found.metadata, finalizers: adding ? [CAS_FINALIZER] : [] } };
    },
    deleteIfExists: async (ref: ObjectRef, o?: { gracePeriodSeconds?: number }) => {
      calls.push(`delete ${ref.kind} ${ref.name}${o?.gracePeriodSeconds === 0 ? " now" : ""}`);
      return true;
    },
  };
  const ctx = {
    client,
    operatorNamespace: opts.operatorNamespace,
    serviceVersion: opts.serviceVersion,
    kit: {
      client,
      reader: { get: async () => undefined },
      events: { record: (_o: KubeObject, type: string, reason: string) => events.push(`${type} ${reason}`) },
    },
  } as unknown as OperatorContext;
  const statefulSets = cache(c.statefulSets);
  const registry = new MetricsRegistry();
  const deps: CasReconcilerDeps = {
    ctx,
    caches: {
      cas: cache(c.cas),
      statefulSets,
      deployments: cache(),
      pdbs: cache(),
      owned: [statefulSets],
      clusterBindings: cache(c.clusterBindings),
      pods: cache(c.pods),
      pvcs: cache(c.pvcs),
      nodes: cache(c.nodes),
    },
    memory: new RelocationMemory(),
    probe: {
      probe: async () => {
        probes++;
        return c.probe ?? { reachable: false, error: "no answer" };
      },
    },
    podDeletionBackoffMs: 0,
    healthyRecheckMs: 30_000,
    unhealthyRecheckMs: 10_000,
    opts,
    gauges: new ResourceGauges(registry, CAS_GAUGES, {}),
    now: () => LATER,
  };
  const rctx = (): ReconcileContext => ({ signal: new AbortController().signal, actions: [] });
  return { reconcile: casReconciler(deps), calls, events, statuses, probes: () => probes, registry, rctx };
}

const request = (cas: CAS) => ({ namespace: cas.metadata.namespace ?? "", name: cas.metadata.name ?? "" });

describe("casReconciler", () => {
  test("a new CAS: the finalizer first, then its objects applied, no probe without a pod, a status and a next look", async () => {
    const cas = await upstreamCas("cas.yaml");
    const w = world({ cas: [cas], nodes: clusterNodes(cas) });
    const rctx = w.rctx();
    const result = await w.reconcile(request(cas), rctx);
    expect(w.calls[0]).toStartWith("patch CAS cas");
    expect(w.calls).toContain("apply StatefulSet cas");
    expect(w.probes()).toBe(0);
    expect(w.statuses).toHaveLength(1);
    expect(result?.requeueAfterMs).toBe(10_000);
    expect(rctx.observed?.generation).toBe(1);
    expect(w.registry.render()).toContain('cr_name="cas"');
  });

  test("a ready pod on a live node: CAS is asked once, and its answer reaches the status", async () => {
    const cas = await upstreamCas("cas.yaml");
    const w = world({
      cas: [{ ...cas, metadata: { ...cas.metadata, finalizers: [CAS_FINALIZER] } }],
      nodes: clusterNodes(cas),
      pods: [readyPod("sgx-node-1")],
      statefulSets: [statefulSet()],
      probe: { reachable: true, version: "6.0.6", provisioned: "Yes", attestable: true },
    });
    await w.reconcile(request(cas), w.rctx());
    expect(w.probes()).toBe(1);
    expect(w.calls.some((c) => c.startsWith("patch CAS"))).toBe(false); // the finalizer was there
    expect(w.statuses[0]?.provisioned).toBe("Yes");
  });

  test("a pod on a lost node: not asked, removed at once (backoff 0) with a NodeLost Event", async () => {
    const cas = await upstreamCas("cas.yaml");
    const w = world({
      cas: [{ ...cas, metadata: { ...cas.metadata, finalizers: [CAS_FINALIZER] } }],
      nodes: clusterNodes(cas, { notReady: ["sgx-node-1"] }),
      pods: [{ apiVersion: "v1", kind: "Pod", ...readyPod("sgx-node-1") }],
      statefulSets: [statefulSet()],
      probe: { reachable: true, provisioned: "Yes" },
    });
    await w.reconcile(request(cas), w.rctx());
    expect(w.probes()).toBe(0);
    expect(w.calls).toContain("delete Pod cas-0 now");
    expect(w.events).toContain("Warning NodeLost");
  });

  test("a deleted CAS: nothing applied, the database kept (an Event says so), then the finalizer goes", async () => {
    const cas = await upstreamCas("cas.yaml");
    const deleting = {
      ...cas,
      metadata: { ...cas.metadata, finalizers: [CAS_FINALIZER], deletionTimestamp: LATER },
    } as CAS;
    const claim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "database-cas-0", namespace: "scone", labels: { "app.kubernetes.io/instance": "cas" } },
    };
    const w = world({ cas: [deleting], nodes: clusterNodes(cas), pvcs: [claim] });
    expect(await w.reconcile(request(cas), w.rctx())).toBeUndefined();
    expect(w.events).toEqual(["Normal DatabaseKept"]);
    expect(w.calls.some((c) => c.startsWith("apply"))).toBe(false);
    expect(w.calls.some((c) => c.includes("PersistentVolumeClaim"))).toBe(false);
    expect(w.calls.at(-1)).toContain('"op":"remove"');
    expect(w.statuses).toEqual([]);
  });

  test("a CAS that is gone: nothing asked, nothing written", async () => {
    const cas = await upstreamCas("cas.yaml");
    const w = world({ cas: [] });
    expect(await w.reconcile(request(cas), w.rctx())).toBeUndefined();
    expect(w.calls).toEqual([]);
    expect(w.statuses).toEqual([]);
  });
});
