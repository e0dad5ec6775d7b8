// The Vault controller (services.scone.cloud/v1beta1, deprecated upstream, still in use): keeps the StatefulSet and
// the two Services of each Vault (render.ts) and writes the upstream status (status.ts). Owned objects carry an
// ownerReference, so deleting a Vault removes them by garbage collection; the data claim stays (Retain policy).
// This file only wires the caches, the reconciler (reconciler.ts) and the watches.
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { vaultDefinition } from "../../resources/vault.ts";
import { Controller } from "../../runtime/controller.ts";
import { refusedAtReconcile } from "../admission/namespace.ts";
import { cacheOwned } from "../kit/caches.ts";
import { RECHECK_MS } from "../kit/health.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchOwned, watchPrimary } from "../wiring.ts";
import type { VaultCaches } from "./observe.ts";
import { vaultReconciler } from "./reconciler.ts";
import { VAULT_APP } from "./render.ts";

export const VAULT_TYPE: TypeRef = { apiVersion: apiVersionOf(vaultDefinition), kind: "Vault" };
const STATEFULSET: TypeRef = { apiVersion: "apps/v1", kind: "StatefulSet" };
const SERVICE: TypeRef = { apiVersion: "v1", kind: "Service" };
const POD: TypeRef = { apiVersion: "v1", kind: "Pod" };

export interface VaultControllerOptions {
  /** Next check while not HEALTHY (default 60 s). */
  readonly recheckMs?: number;
  readonly now?: () => Date;
}

const vaultCaches = (ctx: OperatorContext): VaultCaches => ({
  vaults: ctx.informers.informer<KubeObject>({ type: VAULT_TYPE }),
  statefulSets: cacheOwned(ctx, { type: STATEFULSET, labelSelector: MANAGED_SELECTOR }),
  services: cacheOwned(ctx, { type: SERVICE, labelSelector: MANAGED_SELECTOR }),
  pods: ctx.informers.informer<KubeObject>({ type: POD, labelSelector: `app.kubernetes.io/name=${VAULT_APP}` }),
});

/** Wires the Vault controller: caches, the reconciler, and the watches of Vaults, owned objects and vault pods. */
export function setupVaultController(ctx: OperatorContext, options: VaultControllerOptions = {}): Controller {
  const caches = vaultCaches(ctx);
  const controller = new Controller({
    name: "vault",
    reconcile: vaultReconciler({
      kit: ctx.kit,
      caches,
      refused: (vault, signal) => refusedAtReconcile(ctx, "Vault", vault, signal),
      now: options.now ?? (() => new Date()),
      recheckMs: options.recheckMs ?? RECHECK_MS,
    }),
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  watchPrimary(controller, caches.vaults);
  for (const inf of [caches.statefulSets, caches.services]) watchOwned(controller, inf, VAULT_TYPE, true);
  // Pods carry no ownerReference to the Vault (their owner is the StatefulSet): map them by their instance label.
  const enqueuePod = (o: KubeObject) => {
    const name = o.metadata?.labels?.["app.kubernetes.io/instance"];
    if (name && o.metadata?.namespace) controller.enqueue({ namespace: o.metadata.namespace, name });
  };
  caches.pods.addHandlers({ add: enqueuePod, update: (_a, b) => enqueuePod(b), delete: enqueuePod });
  ctx.manager.addController(controller);
  return controller;
}

/** The name the operator's controller list and the integration tests use. */
export const registerVaultController = setupVaultController;
