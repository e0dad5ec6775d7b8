// The Vault reconcile: observe (observe.ts, caches) → plan (plan.ts, pure) → apply (apply.ts) → report (status.ts
// derives the upstream status; an Event on each state change, a Warning when nothing could be applied).

import type { Vault } from "../../resources/vault.ts";
import type { ReconcileContext, ReconcileRequest, ReconcileResult } from "../../runtime/controller.ts";
import { recordStateTransition } from "../kit/health.ts";
import { type ReconcileKit, writeStatus } from "../reconcile-kit.ts";
import { applyVault, pruneVault } from "./apply.ts";
import { observeVault, ownedObjects, type VaultCaches, vaultPods } from "./observe.ts";
import { applyFailedMessage, degradedMessage, failedVaultStatus, planVault, requeueAfter } from "./plan.ts";
import { deriveVaultStatus } from "./status.ts";

export interface VaultReconcilerDeps {
  readonly kit: ReconcileKit;
  readonly caches: VaultCaches;
  /** The admission policy's issues with the Vault (empty: allowed). */
  readonly refused: (vault: Vault, signal: AbortSignal) => Promise<string[]>;
  readonly now: () => Date;
  /** Next check while not HEALTHY. */
  readonly recheckMs: number;
}

type Result = ReconcileResult | undefined;

/** Status and a Warning Event saying why nothing was applied; the Event only when the status changed. */
async function reportFailure(
  d: VaultReconcilerDeps,
  vault: Vault,
  reason: string,
  message: string,
  rctx: ReconcileContext,
) {
  const failed = failedVaultStatus(vault, reason, message, d.now());
  if (await writeStatus(d.kit, vault, failed, rctx).catch(() => false))
    d.kit.events.record(vault, "Warning", reason, message);
}

export const vaultReconciler =
  (d: VaultReconcilerDeps) =>
  async (req: ReconcileRequest, rctx: ReconcileContext): Promise<Result> => {
    const vault = await observeVault(d.caches, req.namespace ?? "", req.name, rctx.signal);
    if (!vault) return undefined;
    rctx.observed = { generation: vault.metadata.generation, resourceVersion: vault.metadata.resourceVersion };
    const plan = planVault(vault, await d.refused(vault, rctx.signal));
    if (plan.kind === "refuse") {
      await reportFailure(d, vault, plan.reason, plan.message, rctx);
      return { requeueAfterMs: d.recheckMs };
    }
    let sts: Awaited<ReturnType<typeof applyVault>>;
    try {
      sts = await applyVault(d.kit, vault, plan.desired, rctx);
    } catch (e) {
      // A refused apply (missing namespace, quota, admission) shows in status, then retries with backoff.
      await reportFailure(d, vault, "ApplyFailed", applyFailedMessage(e), rctx);
      throw e;
    }
    await pruneVault(d.kit, ownedObjects(d.caches, vault), plan.desired, rctx);
    const status = deriveVaultStatus(vault, { statefulSet: sts, pods: vaultPods(d.caches, vault), now: d.now() });
    await writeStatus(d.kit, vault, status, rctx);
    recordStateTransition(d.kit.events, vault, vault.status?.state, status.state, degradedMessage(status));
    const after = requeueAfter(status, d.recheckMs);
    return after === undefined ? undefined : { requeueAfterMs: after };
  };
