// The Vault controller (services.scone.cloud/v1beta1, deprecated upstream, still in use): keeps the StatefulSet and
// the two Services of each Vault (render.ts) and writes the upstream status (status.ts). Owned objects carry an
// ownerReference, so deleting a Vault removes them by garbage collection; the data claim stays (Retain policy).
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { type Vault, vaultDefinition } from "../../resources/vault.ts";
import { Controller, type ReconcileContext, type ReconcileRequest } from "../../runtime/controller.ts";
import { refusedAtReconcile } from "../admission/namespace.ts";
import { cacheOwned, waitForCaches } from "../kit/caches.ts";
import { failedConditions, RECHECK_MS, recordStateTransition } from "../kit/health.ts";
import { applyOwned, pruneOwned, writeStatus } from "../reconcile-kit.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchOwned, watchPrimary } from "../wiring.ts";
import { renderVaultObjects, VAULT_APP } from "./render.ts";
import { deriveVaultStatus } from "./status.ts";

export const VAULT_TYPE: TypeRef = { apiVersion: apiVersionOf(vaultDefinition), kind: "Vault" };
const STATEFULSET: TypeRef = { apiVersion: "apps/v1", kind: "StatefulSet" };
const SERVICE: TypeRef = { apiVersion: "v1", kind: "Service" };
const POD: TypeRef = { apiVersion: "v1", kind: "Pod" };

export interface VaultControllerOptions {
  /** Next check while not HEALTHY (default 60 s). */
  readonly recheckMs?: number;
  readonly now?: () => Date;
}

const ownedBy = (list: readonly KubeObject[], uid: string | undefined) =>
  list.filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === uid));

export function registerVaultController(ctx: OperatorContext, options: VaultControllerOptions = {}): Controller {
  const now = options.now ?? (() => new Date());
  const vaults = ctx.informers.informer<KubeObject>({ type: VAULT_TYPE });
  const statefulSets = cacheOwned(ctx, { type: STATEFULSET, labelSelector: MANAGED_SELECTOR });
  const services = cacheOwned(ctx, { type: SERVICE, labelSelector: MANAGED_SELECTOR });
  const pods = ctx.informers.informer<KubeObject>({ type: POD, labelSelector: `app.kubernetes.io/name=${VAULT_APP}` });
  const caches = [vaults, statefulSets, services, pods];

  const reconcile = async (req: ReconcileRequest, rctx: ReconcileContext) => {
    await waitForCaches(caches, rctx.signal);
    const vault = vaults.get(req.namespace ?? "", req.name) as Vault | undefined;
    if (!vault || vault.metadata.deletionTimestamp) return undefined;
    rctx.observed = { generation: vault.metadata.generation, resourceVersion: vault.metadata.resourceVersion };
    // Status and a Warning event saying why nothing was applied; the event only when the status changed.
    const fail = async (reason: string, message: string) => {
      const conditions = failedConditions(reason, message, vault.status?.conditions, vault.metadata.generation, now());
      const failed = {
        ...vault.status,
        state: "UNHEALTHY" as const,
        initStatement: vault.status?.initStatement ?? "",
        conditions,
      };
      if (await writeStatus(ctx.kit, vault, failed, rctx).catch(() => false))
        ctx.kit.events.record(vault, "Warning", reason, message);
    };
    // The admission policy (Vault has no webhook): nothing is rendered from a spec it refuses.
    const refused = await refusedAtReconcile(ctx, "Vault", vault, rctx.signal);
    if (refused.length > 0) {
      await fail("NotAllowed", refused.join("; "));
      return { requeueAfterMs: options.recheckMs ?? RECHECK_MS };
    }
    const desired = renderVaultObjects(vault);
    let sts: V1StatefulSet;
    try {
      [sts] = (await applyOwned(ctx.kit, vault, desired, rctx)) as [V1StatefulSet];
    } catch (e) {
      // A refused apply (missing namespace, quota, admission) shows in status, then retries with backoff.
      await fail("ApplyFailed", `applying the Vault's objects failed: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    await pruneOwned(
      ctx.kit,
      [...ownedBy(statefulSets.list(), vault.metadata.uid), ...ownedBy(services.list(), vault.metadata.uid)],
      desired,
      rctx,
    );
    const instance = vault.metadata.name;
    const mine = (pods.list() as V1Pod[]).filter(
      (p) =>
        p.metadata?.namespace === vault.metadata.namespace &&
        p.metadata?.labels?.["app.kubernetes.io/instance"] === instance,
    );
    const status = deriveVaultStatus(vault, { statefulSet: sts, pods: mine, now: now() });
    await writeStatus(ctx.kit, vault, status, rctx);
    const degraded = status.conditions?.find((c) => c.type === "Degraded")?.message ?? "";
    recordStateTransition(ctx.kit.events, vault, vault.status?.state, status.state, degraded);
    return status.state === "HEALTHY" ? undefined : { requeueAfterMs: options.recheckMs ?? RECHECK_MS };
  };

  const controller = new Controller({
    name: "vault",
    reconcile,
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  watchPrimary(controller, vaults);
  for (const inf of [statefulSets, services]) watchOwned(controller, inf, VAULT_TYPE, true);
  // Pods carry no ownerReference to the Vault (their owner is the StatefulSet): map them by their instance label.
  pods.addHandlers({
    add: (o) => enqueuePod(o),
    update: (_a, b) => enqueuePod(b),
    delete: (o) => enqueuePod(o),
  });
  const enqueuePod = (o: KubeObject) => {
    const name = o.metadata?.labels?.["app.kubernetes.io/instance"];
    if (name && o.metadata?.namespace) controller.enqueue({ namespace: o.metadata.namespace, name });
  };
  ctx.manager.addController(controller);
  return controller;
}
