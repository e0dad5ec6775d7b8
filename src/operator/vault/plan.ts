// The Vault reconciler's decisions (pure): refuse what the admission policy forbids, else apply the rendered
// objects; the failed status; which pods are the Vault's; when to look again.
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeObject } from "../../kube/types.ts";
import type { Vault, VaultStatus } from "../../resources/vault.ts";
import { failedConditions } from "../kit/health.ts";
import { renderVaultObjects } from "./render.ts";

export type VaultPlan =
  | { readonly kind: "refuse"; readonly reason: "NotAllowed"; readonly message: string }
  /** desired[0] is the StatefulSet, then the Services. */
  | { readonly kind: "apply"; readonly desired: KubeObject[] };

/** `refused`: the admission policy's issues with the Vault (Vault has no webhook); nothing is rendered then. */
export function planVault(vault: Vault, refused: readonly string[]): VaultPlan {
  if (refused.length > 0) return { kind: "refuse", reason: "NotAllowed", message: refused.join("; ") };
  return { kind: "apply", desired: renderVaultObjects(vault) };
}

export const applyFailedMessage = (e: unknown): string =>
  `applying the Vault's objects failed: ${e instanceof Error ? e.message : String(e)}`;

/** The previous status, UNHEALTHY with a failed condition saying why. */
export function failedVaultStatus(vault: Vault, reason: string, message: string, now: Date): VaultStatus {
  const conditions = failedConditions(reason, message, vault.status?.conditions, vault.metadata.generation, now);
  return { ...vault.status, state: "UNHEALTHY", initStatement: vault.status?.initStatement ?? "", conditions };
}

/** The Vault's pods among the cached vault pods: same namespace, its instance label. */
export const podsOfVault = (vault: Vault, pods: readonly V1Pod[]): V1Pod[] =>
  pods.filter(
    (p) =>
      p.metadata?.namespace === vault.metadata.namespace &&
      p.metadata?.labels?.["app.kubernetes.io/instance"] === vault.metadata.name,
  );

/** The Degraded condition's message (the Event of a state change says it). */
export const degradedMessage = (status: VaultStatus): string =>
  status.conditions?.find((c) => c.type === "Degraded")?.message ?? "";

/** Look again while not HEALTHY. */
export const requeueAfter = (status: VaultStatus, recheckMs: number): number | undefined =>
  status.state === "HEALTHY" ? undefined : recheckMs;
