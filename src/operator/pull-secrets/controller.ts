// The pull-secret injection controller: one reconcile per namespace (reconciler.ts: observe → plan → apply →
// report). Namespace events enqueue the namespace; a change of a source secret in the operator's namespace enqueues
// every namespace annotated for it; the informers' periodic resync re-checks copies someone changed. Copies are
// written only where the operator may use Secrets (its namespace role bound there, as for every other Secret it
// touches: docs/RBAC.md); elsewhere the namespace gets a Warning Event naming the RoleBinding to create.
// This file only wires the caches, the reconciler and the watches.
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { Controller } from "../../runtime/controller.ts";
import { SECRET_TYPE } from "../kit/caches.ts";
import type { OperatorContext } from "../wiring.ts";
import { CopiedInto, type PullSecretCaches } from "./observe.ts";
import { INJECTIONS, type NamespaceLike, namespacesFor } from "./plan.ts";
import { pullSecretReconciler } from "./reconciler.ts";

const NAMESPACE_TYPE: TypeRef = { apiVersion: "v1", kind: "Namespace" };

const pullSecretCaches = (ctx: OperatorContext): PullSecretCaches => ({
  namespaces: ctx.informers.informer<KubeObject>({ type: NAMESPACE_TYPE }),
  sources: ctx.informers.informer<KubeObject>({ type: SECRET_TYPE, namespace: ctx.operatorNamespace }),
});

/** Wires the pull-secret controller: caches, the reconciler, and the watches of namespaces and source secrets. */
export function setupPullSecretController(ctx: OperatorContext): Controller {
  const caches = pullSecretCaches(ctx);
  const controller = new Controller({
    name: "pull-secrets",
    reconcile: pullSecretReconciler({
      client: ctx.client,
      events: ctx.kit.events,
      operatorNamespace: ctx.operatorNamespace,
      caches,
      copied: new CopiedInto(),
    }),
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  const enqueueNs = (o: KubeObject) => controller.enqueue({ name: o.metadata?.name ?? "" });
  caches.namespaces.addHandlers({ add: enqueueNs, update: (_a, b) => enqueueNs(b), delete: enqueueNs });
  const enqueueFor = (o: KubeObject) => {
    const name = o.metadata?.name ?? "";
    if (!INJECTIONS.some((i) => i.secret === name)) return;
    for (const ns of namespacesFor(name, caches.namespaces.list() as NamespaceLike[])) controller.enqueue({ name: ns });
  };
  caches.sources.addHandlers({ add: enqueueFor, update: (_a, b) => enqueueFor(b), delete: enqueueFor });
  ctx.manager.addController(controller);
  return controller;
}

/** The name the operator's controller list and the tests use. */
export const registerPullSecretController = setupPullSecretController;
