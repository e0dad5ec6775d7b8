// The Vault reconciler's writes: apply the desired objects (skipping up-to-date ones), prune the owned objects no
// longer desired. Two steps, since only a refused apply is reported in status (a failed prune is just retried).
import type { V1StatefulSet } from "@kubernetes/client-node";
import type { KubeObject } from "../../kube/types.ts";
import type { Vault } from "../../resources/vault.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { applyOwned, pruneOwned, type ReconcileKit } from "../reconcile-kit.ts";

/** Applies `desired` (the StatefulSet first); returns the StatefulSet as the API server now has it. */
export async function applyVault(
  kit: ReconcileKit,
  vault: Vault,
  desired: readonly KubeObject[],
  rctx: ReconcileContext,
): Promise<V1StatefulSet> {
  const [sts] = (await applyOwned(kit, vault, desired, rctx)) as [V1StatefulSet];
  return sts;
}

export const pruneVault = (
  kit: ReconcileKit,
  owned: readonly KubeObject[],
  desired: readonly KubeObject[],
  rctx: ReconcileContext,
): Promise<void> => pruneOwned(kit, owned, desired, rctx);
