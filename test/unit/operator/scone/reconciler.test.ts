// The Scone reconcile's composition without a cluster: caches are maps, the client records what it is asked.
import { describe, expect, test } from "bun:test";
import type { Informer } from "../../../../src/kube/informer.ts";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";
import { MetricsRegistry } from "../../../../src/metrics/registry.ts";
import { ResourceGauges } from "../../../../src/operator/kit/gauges.ts";
import {
  SCONE_FINALIZER,
  type SconeReconcilerDeps,
  sconeReconciler,
} from "../../../../src/operator/scone/reconciler.ts";
import { STACK_GAUGES } from "../../../../src/operator/scone/status.ts";
import type { OperatorContext } from "../../../../src/operator/wiring.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";

const NS = "scone-system";
const key = (ns: string | undefined, name: string | undefined) => `${ns ?? ""}/${name ?? ""}`;

/** A synced cache over a list of objects. */
function cache(name: string, objects: KubeObject[] = []): Informer<KubeObject> {
  const find = (a: string, b?: string) =>
    objects.find((o) =>
      b === undefined
        ? key(undefined, o.metadata?.name) === key(undefined, a)
        : key(o.metadata?.namespace, o.metadata?.name) === key(a, b),
    );
  return {
    name,
    hasSynced: () => true,
    waitForSync: async () => {},
    get: find,
    list: () => objects,
  } as unknown as Informer<KubeObject>;
}

function world(scones: KubeObject[], owned: { las?: KubeObject[] } = {}) {
  const calls: string[] = [];
  const events: string[] = [];
  const statuses: unknown[] = [];
  const client = {
    tryGet: async () => undefined,
    apply: async (o: KubeObject) => {
      calls.push(`apply ${o.kind} ${o.metadata?.name}`);
      return o;
    },
    applyStatus: async (o: KubeObject & { status?: unknown }) => {
      statuses.push(o.status);
      return o;
    },
    patch: async (ref: ObjectRef, patch: unknown) => {
      calls.push(`patch ${ref.kind} ${ref.name} ${JSON.stringify(patch)}`);
      const s = scones.find((o) => o.metadata?.name === ref.name) as KubeObject;
      return { ...s, metadata: { ...s.metadata, finalizers: [SCONE_FINALIZER] } };
    },
    deleteIfExists: async (ref: ObjectRef) => {
      calls.push(`delete ${ref.kind} ${ref.name}`);
      return true;
    },
  };
  const ctx = {
    client,
    operatorNamespace: NS,
    kit: {
      client,
      reader: { get: async () => undefined },
      events: { record: (_o: KubeObject, type: string, reason: string) => events.push(`${type} ${reason}`) },
    },
  } as unknown as OperatorContext;
  const deps: SconeReconcilerDeps = {
    ctx,
    caches: {
      scones: cache("scones", scones),
      las: cache("las", owned.las ?? []),
      plugins: cache("plugins"),
      cas: cache("cas"),
      secrets: cache("secrets"),
    },
    settings: { newNonce: () => "n0" },
    gauges: new ResourceGauges(new MetricsRegistry(), STACK_GAUGES, {}),
    now: () => new Date("2026-01-01T12:00:00Z"),
    maxRetries: 5,
    retryBaseMs: 1_000,
    backupsAvailable: false,
  };
  return { reconcile: sconeReconciler(deps), calls, events, statuses };
}

const rctx = (): ReconcileContext => ({ signal: new AbortController().signal, actions: [] });
const scone = (name: string, meta: Partial<KubeObject["metadata"]> = {}): KubeObject =>
  ({
    apiVersion: "confidential.security.osc.t-systems.com/v1alpha1",
    kind: "Scone",
    metadata: {
      name,
      uid: `u-${name}`,
      generation: 1,
      resourceVersion: "1",
      creationTimestamp: "2026-01-01T00:00:00Z",
      ...meta,
    },
    spec: { serviceVersion: "6.0.6" },
  }) as unknown as KubeObject;

describe("sconeReconciler", () => {
  test("a new Scone: finalizer, Creating, the stack applied and an unprovisioned CAS created, then Running", async () => {
    const w = world([scone("stack")]);
    expect(await w.reconcile({ name: "stack" }, rctx())).toBeUndefined();
    expect(w.calls[0]).toStartWith("patch Scone stack");
    expect(w.calls).toContain("apply SGXPlugin sgxplugin");
    expect(w.calls).toContain("apply LAS las");
    expect(w.calls).toContain("apply CAS cas");
    expect(w.statuses.map((s) => (s as { phase?: string }).phase)).toEqual(["Creating", "Running"]);
    expect(w.events).toEqual(["Normal PhaseChanged", "Normal CasCreated", "Normal PhaseChanged"]);
  });

  test("a second Scone is refused in its status and nothing is applied", async () => {
    const w = world([scone("first"), scone("second", { creationTimestamp: "2026-01-02T00:00:00Z" as never })]);
    await w.reconcile({ name: "second" }, rctx());
    expect(w.calls).toEqual([]);
    expect(JSON.stringify(w.statuses)).toContain("Scone first is this cluster's stack");
  });

  test("a deleted Scone removes what it owns, never the CAS database, then its finalizer", async () => {
    const gone = scone("stack", { deletionTimestamp: "2026-01-01T11:00:00Z" as never, finalizers: [SCONE_FINALIZER] });
    const las = { kind: "LAS", metadata: { name: "las", ownerReferences: [{ uid: "u-stack" }] } } as KubeObject;
    const w = world([gone], { las: [las] });
    await w.reconcile({ name: "stack" }, rctx());
    expect(w.calls[0]).toBe("delete LAS las");
    expect(w.calls.some((c) => c.includes("PersistentVolumeClaim"))).toBe(false);
    expect(w.calls.at(-1)).toContain('"op":"remove","path":"/metadata/finalizers/0"');
    expect(w.events).toEqual(["Normal Uninstalled"]);
  });

  test("a Scone that is gone only drops its gauges", async () => {
    const w = world([]);
    expect(await w.reconcile({ name: "stack" }, rctx())).toBeUndefined();
    expect(w.calls).toEqual([]);
  });
});
