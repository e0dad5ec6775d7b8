// The node-agent reconcile's composition without a cluster, with LAS as the kind (its real render, status and node
// label plan): caches are lists, the client records what it is asked to write and answers an apply of the
// DaemonSet with the status the test gives.
import { describe, expect, test } from "bun:test";
import type { V1DaemonSet, V1DaemonSetStatus, V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";
import { renderLasDaemonSet, renderLasDcapSecret } from "../../../../src/operator/las/render.ts";
import { deriveLasStatus, lasNodeHealth, observeLasNodes } from "../../../../src/operator/las/status.ts";
import { LAS_OK_LABEL, planLasNodeLabels } from "../../../../src/operator/node-agent/node-labels.ts";
import { FINALIZER } from "../../../../src/operator/node-agent/nodes.ts";
import {
  type NodeAgentContext,
  type NodeAgentKind,
  nodeAgentReconciler,
} from "../../../../src/operator/node-agent/reconciler.ts";
import { LAS_CAPABLE_LABEL } from "../../../../src/resources/defaults.ts";
import type { LAS, LASStatus } from "../../../../src/resources/las.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";
import { clusterNodes, JUST_NOW, LONG_AGO, NOW, node, pod } from "../../../harness/kube-objects.ts";
import { syncedCache } from "../kit/synced-cache.ts";

const OPNS = "scone-system";
const RENDER = { serviceVersion: "1.2.3", operatorNamespace: OPNS };
const SGX = { "sgx.intel.com/capable": "true" };
const SGX_NODES = ["sgx-1", "sgx-2", "sgx-3"];

const las = (name = "las", o: { status?: LASStatus; created?: string; deleting?: boolean; finalizer?: boolean } = {}) =>
  ({
    apiVersion: "base.scone.cloud/v1beta1",
    kind: "LAS",
    metadata: {
      name,
      uid: `u-${name}`,
      generation: 1,
      resourceVersion: "7",
      creationTimestamp: o.created ?? LONG_AGO,
      ...(o.finalizer === false ? {} : { finalizers: [FINALIZER] }),
      ...(o.deleting ? { deletionTimestamp: NOW } : {}),
    },
    spec: { nodeSelector: SGX },
    ...(o.status ? { status: o.status } : {}),
  }) as unknown as LAS;

const lasPod = (n: string, ready = true) =>
  pod(`las-${n}`, n, { app: "las", ready, containersReady: { las: ready, probe: ready } });

/** A Secret or DaemonSet owned by the LAS u-las. */
const owned = (kind: string, name: string): KubeObject => ({
  apiVersion: kind === "Secret" ? "v1" : "apps/v1",
  kind,
  metadata: { name, namespace: OPNS, ownerReferences: [{ apiVersion: "x", kind: "LAS", name: "las", uid: "u-las" }] },
});

interface WorldOptions {
  resources: LAS[];
  nodes?: V1Node[];
  pods?: V1Pod[];
  daemonSets?: KubeObject[];
  secrets?: KubeObject[];
  /** The DaemonSet as the API server answers the apply. */
  ds?: { created: string; status: V1DaemonSetStatus };
  failApply?: string;
}

const settled = (ready: number): V1DaemonSetStatus => ({
  desiredNumberScheduled: 3,
  currentNumberScheduled: 3,
  numberMisscheduled: 0,
  numberReady: ready,
  numberAvailable: ready,
  updatedNumberScheduled: 3,
  observedGeneration: 1,
});

function world(o: WorldOptions) {
  const calls: string[] = [];
  const events: string[] = [];
  const statuses: LASStatus[] = [];
  const gauges: string[] = [];
  const nodes = o.nodes ?? clusterNodes();
  const client = {
    apply: async (obj: KubeObject) => {
      calls.push(`apply ${obj.kind} ${obj.metadata?.name}`);
      if (o.failApply) throw new Error(o.failApply);
      if (obj.kind !== "DaemonSet") return obj;
      const ds = o.ds ?? { created: LONG_AGO, status: settled(3) };
      return { ...obj, metadata: { ...obj.metadata, generation: 1, creationTimestamp: ds.created }, status: ds.status };
    },
    applyStatus: async (obj: KubeObject & { status?: LASStatus }) => {
      if (obj.status) statuses.push(obj.status);
      return obj;
    },
    patch: async (ref: ObjectRef, patch: unknown, type: string) => {
      calls.push(`patch ${ref.kind} ${ref.name} ${JSON.stringify(patch)}`);
      if (type !== "json") return {};
      const res = o.resources.find((r) => r.metadata.name === ref.name) as LAS;
      return { ...res, metadata: { ...res.metadata, finalizers: [FINALIZER] } };
    },
    deleteIfExists: async (ref: ObjectRef) => {
      calls.push(`delete ${ref.kind} ${ref.name}`);
      return true;
    },
  };
  const caches = {
    resources: syncedCache(o.resources, "las"),
    daemonSets: syncedCache(o.daemonSets ?? [], "daemonsets"),
    secrets: syncedCache(o.secrets ?? [], "secrets"),
    nodes: syncedCache(nodes, "nodes"),
    pods: syncedCache(o.pods ?? [], "pods"),
  };
  const kind: NodeAgentKind<LAS, LASStatus> = {
    kind: "LAS",
    resources: caches.resources,
    daemonSets: caches.daemonSets,
    owned: [caches.daemonSets, caches.secrets],
    caches: Object.values(caches),
    nodes: caches.nodes,
    render: (l) => {
      const secret = renderLasDcapSecret(l, RENDER);
      return secret ? [renderLasDaemonSet(l, RENDER), secret] : [renderLasDaemonSet(l, RENDER)];
    },
    observe: async (l, ds) => {
      const podList = caches.pods.list() as V1Pod[];
      return {
        status: deriveLasStatus(l, ds, podList, nodes, { now: NOW }),
        nodePatches: planLasNodeLabels(nodes, lasNodeHealth(observeLasNodes(ds as V1DaemonSet, podList, nodes))),
      };
    },
    failedStatus: (l, conditions) => ({
      ...l.status,
      state: "UNHEALTHY",
      version: l.status?.version ?? "",
      conditions,
    }),
    removeNodeLabels: (all) => planLasNodeLabels(all, new Map(), true),
    setGauges: (l, s) => gauges.push(`set ${l.metadata.name} ${s.state}`),
    removeGauges: (name) => gauges.push(`remove ${name}`),
  };
  const ctx: NodeAgentContext = {
    client: client as never,
    operatorNamespace: OPNS,
    kit: {
      client: client as never,
      reader: { get: async () => undefined },
      events: { record: (obj, type, reason, message) => events.push(`${obj.kind} ${type} ${reason}: ${message}`) },
    },
  };
  return { reconcile: nodeAgentReconciler(ctx, kind), calls, events, statuses, gauges };
}

const rctx = (): ReconcileContext => ({ signal: new AbortController().signal, actions: [] });
const nodePatches = (calls: readonly string[]) => calls.filter((c) => c.startsWith("patch Node"));
const allReady = () => SGX_NODES.map((n) => lasPod(n));
/** The cluster's nodes, sgx-1 carrying the LAS labels. */
const sgx1Labelled = () =>
  clusterNodes().map((n) =>
    n.metadata?.name === "sgx-1"
      ? node("sgx-1", { enclave: 20, labels: { ...SGX, [LAS_CAPABLE_LABEL]: "true", [LAS_OK_LABEL]: "true" } })
      : n,
  );

describe("nodeAgentReconciler (LAS)", () => {
  test("SGX nodes with ready LAS pods: finalizer, DaemonSet applied, node labels, HEALTHY, a Healthy Event, gauges", async () => {
    const w = world({ resources: [las("las", { finalizer: false })], pods: allReady() });
    const r = rctx();
    expect(await w.reconcile({ name: "las" }, r)).toBeUndefined();
    expect(w.calls[0]).toStartWith("patch LAS las ");
    expect(w.calls[0]).toContain(FINALIZER);
    expect(w.calls[1]).toBe("apply DaemonSet las");
    // Only the SGX nodes are labelled; the plain node is left alone.
    expect(nodePatches(w.calls)).toEqual(
      SGX_NODES.map(
        (n) =>
          `patch Node ${n} ${JSON.stringify({ metadata: { labels: { [LAS_CAPABLE_LABEL]: "true", [LAS_OK_LABEL]: "true" } } })}`,
      ),
    );
    expect(w.statuses).toHaveLength(1);
    expect(w.statuses[0]).toMatchObject({ state: "HEALTHY", desiredNumberScheduled: 3, numberAvailable: 3 });
    expect(w.events).toEqual(["LAS Normal Healthy: LAS las is HEALTHY"]);
    expect(w.gauges).toEqual(["set las HEALTHY"]);
  });

  test("a new DaemonSet whose pods are not ready yet: PENDING, labels say not ok, no Event, looked at again", async () => {
    const w = world({
      resources: [las()],
      pods: SGX_NODES.map((n) => lasPod(n, false)),
      ds: { created: JUST_NOW, status: settled(0) },
    });
    const result = await w.reconcile({ name: "las" }, rctx());
    expect(result?.requeueAfterMs).toBeGreaterThan(0);
    expect(w.statuses[0]?.state).toBe("PENDING");
    expect(nodePatches(w.calls)[0]).toContain(`"${LAS_OK_LABEL}":"false"`);
    expect(w.events).toEqual([]);
  });

  test("HEALTHY before, pods failing past the deadline: UNHEALTHY with one Warning", async () => {
    const w = world({
      resources: [las("las", { status: { state: "HEALTHY", version: "1.2.3" } as LASStatus })],
      pods: [lasPod("sgx-1"), lasPod("sgx-2", false), lasPod("sgx-3")],
      ds: { created: LONG_AGO, status: settled(2) },
    });
    await w.reconcile({ name: "las" }, rctx());
    expect(w.statuses[0]?.state).toBe("UNHEALTHY");
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toStartWith("LAS Warning Unhealthy: LAS las is UNHEALTHY: ");
  });

  test("the steady state writes nothing but the (unchanged) DaemonSet apply: no status, no labels, no Event", async () => {
    const first = world({ resources: [las()], pods: allReady() });
    await first.reconcile({ name: "las" }, rctx());
    const labelled = clusterNodes().map((n) =>
      SGX_NODES.includes(n.metadata?.name ?? "")
        ? node(n.metadata?.name ?? "", {
            enclave: 20,
            labels: { ...SGX, [LAS_CAPABLE_LABEL]: "true", [LAS_OK_LABEL]: "true" },
          })
        : n,
    );
    const again = world({
      resources: [las("las", { status: first.statuses[0] })],
      nodes: labelled,
      pods: allReady(),
      daemonSets: [owned("DaemonSet", "las")],
    });
    await again.reconcile({ name: "las" }, rctx());
    expect(again.calls).toEqual(["apply DaemonSet las"]);
    expect(again.statuses).toEqual([]);
    expect(again.events).toEqual([]);
  });

  test("objects no longer desired are pruned: the DCAP key Secret once the key is unset", async () => {
    const w = world({
      resources: [las()],
      pods: allReady(),
      daemonSets: [owned("DaemonSet", "las")],
      secrets: [owned("Secret", "las-dcap-key")],
    });
    const r = rctx();
    await w.reconcile({ name: "las" }, r);
    expect(w.calls.filter((c) => c.startsWith("delete"))).toEqual(["delete Secret las-dcap-key"]);
    expect(r.actions).toContain("delete Secret scone-system/las-dcap-key");
  });

  test("a DaemonSet deleted behind the operator's back (spec unchanged): created again, with a Warning", async () => {
    const w = world({
      resources: [las("las", { status: { state: "HEALTHY", version: "1.2.3", observedGeneration: 1 } as LASStatus })],
      pods: allReady(),
    });
    await w.reconcile({ name: "las" }, rctx());
    expect(w.calls).toContain("apply DaemonSet las");
    expect(w.events).toContain(
      "LAS Warning DaemonSetRecreated: DaemonSet scone-system/las was missing and has been created again",
    );
  });

  test("a second, younger LAS: nothing applied, told so in status with one Warning", async () => {
    const w = world({ resources: [las("las"), las("las-2", { created: JUST_NOW })], pods: allReady() });
    expect(await w.reconcile({ name: "las-2" }, rctx())).toBeUndefined();
    expect(w.calls).toEqual([]);
    expect(w.statuses[0]?.state).toBe("UNHEALTHY");
    expect(w.events).toEqual([
      "LAS Warning NotReconciled: LAS las is this cluster's LAS; a second LAS is not reconciled",
    ]);
  });

  test("a refused apply shows in status (ApplyFailed, Warning) and the error goes to the queue", async () => {
    const w = world({ resources: [las()], failApply: "daemonsets.apps is forbidden" });
    await expect(w.reconcile({ name: "las" }, rctx())).rejects.toThrow("daemonsets.apps is forbidden");
    expect(w.statuses[0]?.state).toBe("UNHEALTHY");
    expect(w.events).toEqual([
      "LAS Warning ApplyFailed: applying the LAS's objects failed: daemonsets.apps is forbidden",
    ]);
  });

  test("deleting the only LAS: its node labels removed, then the finalizer; gauges dropped", async () => {
    const w = world({ resources: [las("las", { deleting: true })], nodes: sgx1Labelled() });
    await w.reconcile({ name: "las" }, rctx());
    expect(w.calls).toHaveLength(2);
    expect(w.calls[0]).toBe(
      `patch Node sgx-1 ${JSON.stringify({ metadata: { labels: { [LAS_CAPABLE_LABEL]: null, [LAS_OK_LABEL]: null } } })}`,
    );
    expect(w.calls[1]).toStartWith("patch LAS las ");
    expect(w.calls[1]).toContain('"op":"remove"');
    expect(w.gauges).toEqual(["remove las"]);
  });

  test("deleting one LAS while another remains: the labels stay for the successor", async () => {
    const w = world({
      resources: [las("las", { deleting: true }), las("las-2", { created: JUST_NOW })],
      nodes: sgx1Labelled(),
    });
    await w.reconcile({ name: "las" }, rctx());
    expect(nodePatches(w.calls)).toEqual([]);
    expect(w.calls).toHaveLength(1);
  });

  test("a LAS that is gone: only its gauges are dropped", async () => {
    const w = world({ resources: [] });
    expect(await w.reconcile({ name: "las" }, rctx())).toBeUndefined();
    expect(w.calls).toEqual([]);
    expect(w.gauges).toEqual(["remove las"]);
  });
});
