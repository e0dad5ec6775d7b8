// The Vault reconcile's composition without a cluster: caches are lists, the client records what it is asked to
// write and answers an apply with the object (a StatefulSet with the status the test gives), the clock is fixed.
import { describe, expect, test } from "bun:test";
import type { V1Pod, V1StatefulSetStatus } from "@kubernetes/client-node";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";
import { type VaultReconcilerDeps, vaultReconciler } from "../../../../src/operator/vault/reconciler.ts";
import type { Vault, VaultStatus } from "../../../../src/resources/vault.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";
import { sampleVault } from "../../../harness/vault-sample.ts";
import { syncedCache } from "../kit/synced-cache.ts";

const NS = "vault-ns";
const NOW = new Date("2026-01-01T12:00:00Z");
const LONG_AGO = new Date("2026-01-01T11:00:00Z");
const RECHECK_MS = 750;
const ROLLED: V1StatefulSetStatus = {
  replicas: 1,
  updatedReplicas: 1,
  observedGeneration: 1,
  currentRevision: "r",
  updateRevision: "r",
};

const vaultPod = (instance: string, ready: boolean): V1Pod => ({
  metadata: {
    name: `${instance}-0`,
    namespace: NS,
    creationTimestamp: LONG_AGO,
    labels: { "app.kubernetes.io/name": "vault", "app.kubernetes.io/instance": instance },
  },
  status: { phase: ready ? "Running" : "Pending", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

/** An object the Vault (uid u-vault) owns. */
const owned = (kind: string, name: string, uid = "u-vault"): KubeObject => ({
  apiVersion: kind === "Service" ? "v1" : "apps/v1",
  kind,
  metadata: { name, namespace: NS, ownerReferences: [{ apiVersion: "x", kind: "Vault", name: "vault", uid }] },
});

interface WorldOptions {
  vault: Vault;
  pods?: V1Pod[];
  services?: KubeObject[];
  refused?: string[];
  /** The StatefulSet as the API server answers the apply (creationTimestamp, status). */
  sts?: { created: Date; status?: V1StatefulSetStatus };
  failApply?: string;
}

function world(o: WorldOptions) {
  const calls: string[] = [];
  const events: string[] = [];
  const statuses: VaultStatus[] = [];
  const client = {
    apply: async (obj: KubeObject) => {
      calls.push(`apply ${obj.kind} ${obj.metadata?.name}`);
      if (o.failApply) throw new Error(o.failApply);
      if (obj.kind !== "StatefulSet") return obj;
      const sts = o.sts ?? { created: LONG_AGO, status: ROLLED };
      return {
        ...obj,
        metadata: { ...obj.metadata, generation: 1, creationTimestamp: sts.created },
        status: sts.status,
      };
    },
    applyStatus: async (obj: KubeObject & { status?: VaultStatus }) => {
      if (obj.status) statuses.push(obj.status);
      return obj;
    },
    deleteIfExists: async (ref: ObjectRef) => {
      calls.push(`delete ${ref.kind} ${ref.name}`);
      return true;
    },
  };
  const deps: VaultReconcilerDeps = {
    kit: {
      client: client as never,
      reader: { get: async () => undefined },
      events: { record: (obj, type, reason, message) => events.push(`${obj.kind} ${type} ${reason}: ${message}`) },
    },
    caches: {
      vaults: syncedCache([o.vault], "vaults"),
      statefulSets: syncedCache([], "statefulsets"),
      services: syncedCache(o.services ?? [], "services"),
      pods: syncedCache(o.pods ?? [], "pods"),
    },
    refused: async () => o.refused ?? [],
    now: () => NOW,
    recheckMs: RECHECK_MS,
  };
  return { reconcile: vaultReconciler(deps), calls, events, statuses };
}

const rctx = (): ReconcileContext => ({ signal: new AbortController().signal, actions: [] });
const REQ = { namespace: NS, name: "vault" };
const withStatus = async (status?: VaultStatus): Promise<Vault> => ({ ...(await sampleVault()), status });

describe("vaultReconciler", () => {
  test("a ready pod: StatefulSet and both Services applied, status HEALTHY, a Healthy Event, no recheck", async () => {
    const w = world({
      vault: await withStatus({ state: "PENDING", initStatement: "c2Vj" }),
      pods: [vaultPod("vault", true)],
    });
    const r = rctx();
    expect(await w.reconcile(REQ, r)).toBeUndefined();
    expect(w.calls).toEqual(["apply StatefulSet vault", "apply Service vault", "apply Service vault-internal"]);
    expect(w.statuses).toHaveLength(1);
    expect(w.statuses[0]).toMatchObject({
      state: "HEALTHY",
      readyReplicas: 1,
      sgxReplicaAlert: 0,
      initStatement: "c2Vj",
    });
    expect(w.events).toEqual(["Vault Normal Healthy: Vault vault is HEALTHY"]);
    expect(r.observed).toEqual({ generation: 1, resourceVersion: undefined });
  });

  test("a new StatefulSet whose pod is not ready: PENDING, no Event, looked at again", async () => {
    const w = world({
      vault: await withStatus(),
      pods: [vaultPod("vault", false)],
      sts: { created: new Date(NOW.getTime() - 30_000), status: ROLLED },
    });
    expect(await w.reconcile(REQ, rctx())).toEqual({ requeueAfterMs: RECHECK_MS });
    expect(w.statuses[0]).toMatchObject({ state: "PENDING", readyReplicas: 0, sgxReplicaAlert: 1 });
    expect(w.events).toEqual([]);
  });

  test("a pod not ready past the deadline: UNHEALTHY with a Warning naming the pod", async () => {
    const w = world({
      vault: await withStatus({ state: "HEALTHY", initStatement: "" }),
      pods: [vaultPod("vault", false)],
    });
    expect(await w.reconcile(REQ, rctx())).toEqual({ requeueAfterMs: RECHECK_MS });
    expect(w.statuses[0]?.state).toBe("UNHEALTHY");
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toStartWith("Vault Warning Unhealthy: Vault vault is UNHEALTHY: 1 of 1 vault pods not ready");
    expect(w.events[0]).toContain("vault-0 is Pending");
  });

  test("the ready pod of another Vault does not count", async () => {
    const w = world({ vault: await withStatus(), pods: [vaultPod("vault-2", true)] });
    await w.reconcile(REQ, rctx());
    expect(w.statuses[0]).toMatchObject({ readyReplicas: 0 });
    expect(w.statuses[0]?.state).not.toBe("HEALTHY");
  });

  test("owned objects no longer desired are pruned; those of another owner and the desired ones stay", async () => {
    const w = world({
      vault: await withStatus(),
      pods: [vaultPod("vault", true)],
      services: [owned("Service", "vault"), owned("Service", "vault-old"), owned("Service", "theirs", "u-other")],
    });
    const r = rctx();
    await w.reconcile(REQ, r);
    expect(w.calls.filter((c) => c.startsWith("delete"))).toEqual(["delete Service vault-old"]);
    expect(r.actions).toContain("delete Service vault-ns/vault-old");
  });

  test("refused by the admission policy: nothing applied, UNHEALTHY NotAllowed with one Warning", async () => {
    const w = world({ vault: await withStatus(), refused: ["spec.server.image: registry not allowed"] });
    expect(await w.reconcile(REQ, rctx())).toEqual({ requeueAfterMs: RECHECK_MS });
    expect(w.calls).toEqual([]);
    expect(w.statuses[0]?.state).toBe("UNHEALTHY");
    expect(w.statuses[0]?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("NotAllowed");
    expect(w.events).toEqual(["Vault Warning NotAllowed: spec.server.image: registry not allowed"]);
  });

  test("refused again with the status already saying so: no write, no second Warning", async () => {
    const first = world({ vault: await withStatus(), refused: ["spec.x: no"] });
    await first.reconcile(REQ, rctx());
    const again = world({ vault: await withStatus(first.statuses[0]), refused: ["spec.x: no"] });
    await again.reconcile(REQ, rctx());
    expect(again.statuses).toEqual([]);
    expect(again.events).toEqual([]);
  });

  test("a refused apply shows in status with a Warning, then the error goes to the queue (backoff)", async () => {
    const w = world({ vault: await withStatus(), failApply: "namespaces vault-ns not found" });
    await expect(w.reconcile(REQ, rctx())).rejects.toThrow("namespaces vault-ns not found");
    expect(w.statuses[0]?.state).toBe("UNHEALTHY");
    expect(w.events).toEqual([
      "Vault Warning ApplyFailed: applying the Vault's objects failed: namespaces vault-ns not found",
    ]);
  });

  test("a Vault that is gone or being deleted: nothing read, nothing written", async () => {
    const gone = world({ vault: await withStatus() });
    expect(await gone.reconcile({ namespace: NS, name: "other" }, rctx())).toBeUndefined();
    const v = await withStatus();
    const deleting = world({ vault: { ...v, metadata: { ...v.metadata, deletionTimestamp: NOW } } });
    expect(await deleting.reconcile(REQ, rctx())).toBeUndefined();
    expect([...gone.calls, ...deleting.calls, ...gone.statuses, ...deleting.statuses]).toEqual([]);
  });
});
