// The pull-secret reconcile's composition without a cluster: caches are lists, the client answers from a map of
// the namespace's secrets (or refuses them) and records what it is asked to write.
import { describe, expect, test } from "bun:test";
import { ForbiddenError } from "../../../../src/kube/errors.ts";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";
import { CopiedInto } from "../../../../src/operator/pull-secrets/observe.ts";
import { copyOf, FORBIDDEN_RECHECK_MS, type SecretLike } from "../../../../src/operator/pull-secrets/plan.ts";
import { pullSecretReconciler } from "../../../../src/operator/pull-secrets/reconciler.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";
import { syncedCache } from "../kit/synced-cache.ts";

const OPNS = "scone-system";
const ANNOTATION = "sconeapps/inject-pull-secret";

const cache = syncedCache;

const namespace = (name: string, annotations: Record<string, string> = {}) =>
  ({ metadata: { name, annotations } }) as KubeObject;
const source = (name: string, token: string): KubeObject =>
  ({
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    metadata: { name, namespace: OPNS },
    data: { ".dockerconfigjson": btoa(token) },
  }) as KubeObject;

function world(opts: { namespaces: KubeObject[]; inNamespace?: Record<string, SecretLike>; forbidden?: boolean }) {
  const calls: string[] = [];
  const events: string[] = [];
  const client = {
    tryGet: async (ref: ObjectRef) => {
      calls.push(`get ${ref.namespace}/${ref.name}`);
      if (opts.forbidden)
        throw new ForbiddenError(
          { code: 403, reason: "Forbidden" },
          { method: "GET", path: `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}` },
        );
      return opts.inNamespace?.[ref.name] as KubeObject | undefined;
    },
    create: async (o: KubeObject) => {
      calls.push(`create ${o.metadata?.namespace}/${o.metadata?.name}`);
      return o;
    },
    replace: async (o: KubeObject) => {
      calls.push(`replace ${o.metadata?.namespace}/${o.metadata?.name}`);
      return o;
    },
    deleteIfExists: async (ref: ObjectRef, o?: { preconditions?: { resourceVersion?: string } }) => {
      calls.push(`delete ${ref.namespace}/${ref.name} rv=${o?.preconditions?.resourceVersion}`);
      return true;
    },
  };
  const copied = new CopiedInto();
  const reconcile = pullSecretReconciler({
    client: client as never,
    events: { record: (o, type, reason, message) => events.push(`${o.kind} ${type} ${reason}: ${message}`) },
    operatorNamespace: OPNS,
    caches: { namespaces: cache(opts.namespaces), sources: cache([source("sconeapps", "t1")]) },
    copied,
  });
  const rctx = (): ReconcileContext => ({ signal: new AbortController().signal, actions: [] });
  return { reconcile, calls, events, copied, rctx };
}

describe("pullSecretReconciler", () => {
  test("an annotated namespace gets a copy of the source; the action is recorded and the namespace remembered", async () => {
    const w = world({ namespaces: [namespace("team-a", { [ANNOTATION]: "true" })] });
    const rctx = w.rctx();
    expect(await w.reconcile({ name: "team-a" }, rctx)).toBeUndefined();
    expect(w.calls).toEqual(["get team-a/scone-operator-pull", "get team-a/sconeapps", "create team-a/sconeapps"]);
    expect(rctx.actions).toEqual(["create Secret team-a/sconeapps"]);
    expect(w.copied.has("team-a")).toBe(true);
  });

  test("a namespace without annotation and without a copy of ours is not read at all", async () => {
    const w = world({ namespaces: [namespace("team-b")] });
    await w.reconcile({ name: "team-b" }, w.rctx());
    expect(w.calls).toEqual([]);
  });

  test("a copy whose annotation went is removed with its resourceVersion as precondition, then forgotten", async () => {
    const ours = copyOf({ type: "kubernetes.io/dockerconfigjson", data: {} }, "team-a", OPNS, "sconeapps");
    ours.metadata = { ...ours.metadata, resourceVersion: "42" };
    const w = world({ namespaces: [namespace("team-a")], inNamespace: { sconeapps: ours } });
    w.copied.add("team-a");
    await w.reconcile({ name: "team-a" }, w.rctx());
    expect(w.calls.at(-1)).toBe("delete team-a/sconeapps rv=42");
    expect(w.copied.has("team-a")).toBe(false);
  });

  test("a secret of that name the operator did not create is left, with a Warning on the namespace", async () => {
    const theirs = { type: "Opaque", metadata: { name: "sconeapps", namespace: "team-a" } };
    const w = world({
      namespaces: [namespace("team-a", { [ANNOTATION]: "true" })],
      inNamespace: { sconeapps: theirs },
    });
    await w.reconcile({ name: "team-a" }, w.rctx());
    expect(w.calls.filter((c) => !c.startsWith("get"))).toEqual([]);
    expect(w.events).toEqual([
      "Namespace Warning PullSecretNotInjected: Secret team-a/sconeapps exists and was not created by scone: left as it is",
    ]);
  });

  test("refused Secrets: a namespace asking for a copy is told the RoleBinding to create and looked at again", async () => {
    const w = world({ namespaces: [namespace("team-a", { [ANNOTATION]: "true" })], forbidden: true });
    expect(await w.reconcile({ name: "team-a" }, w.rctx())).toEqual({ requeueAfterMs: FORBIDDEN_RECHECK_MS });
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toContain("kubectl create rolebinding");
    expect(w.events[0]).toContain("-n team-a");
  });

  test("refused Secrets where the annotation is not true: nothing to say, no retry", async () => {
    const w = world({ namespaces: [namespace("team-a", { [ANNOTATION]: "false" })], forbidden: true });
    expect(await w.reconcile({ name: "team-a" }, w.rctx())).toBeUndefined();
    expect(w.events).toEqual([]);
  });

  test("a namespace that is gone, and the operator's own, do nothing", async () => {
    const w = world({ namespaces: [namespace(OPNS, { [ANNOTATION]: "true" })] });
    await w.reconcile({ name: "gone" }, w.rctx());
    await w.reconcile({ name: OPNS }, w.rctx());
    expect(w.calls).toEqual([]);
  });
});
