// What the Vault reconciler reads, all from the caches: the Vault, the objects it owns (to prune what is no longer
// desired) and its pods (selected by the instance label: their owner is the StatefulSet, not the Vault).
import type { V1Pod } from "@kubernetes/client-node";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Vault } from "../../resources/vault.ts";
import { waitForCaches } from "../kit/caches.ts";
import { podsOfVault } from "./plan.ts";

export interface VaultCaches {
  readonly vaults: Informer<KubeObject>;
  readonly statefulSets: Informer<KubeObject>;
  readonly services: Informer<KubeObject>;
  /** Pods labelled app.kubernetes.io/name=vault. */
  readonly pods: Informer<KubeObject>;
}

const ownedBy = (list: readonly KubeObject[], uid: string | undefined) =>
  list.filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === uid));

/** The Vault to reconcile; undefined when it is gone or being deleted (garbage collection removes the rest). */
export async function observeVault(
  caches: VaultCaches,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<Vault | undefined> {
  await waitForCaches([caches.vaults, caches.statefulSets, caches.services, caches.pods], signal);
  const vault = caches.vaults.get(namespace, name) as Vault | undefined;
  return vault && !vault.metadata.deletionTimestamp ? vault : undefined;
}

/** The StatefulSets and Services the Vault owns now. */
export const ownedObjects = (caches: VaultCaches, vault: Vault): KubeObject[] => [
  ...ownedBy(caches.statefulSets.list(), vault.metadata.uid),
  ...ownedBy(caches.services.list(), vault.metadata.uid),
];

/** The Vault's pods as the cache holds them now (read after the apply, so the freshest view goes into status). */
export const vaultPods = (caches: VaultCaches, vault: Vault): V1Pod[] =>
  podsOfVault(vault, caches.pods.list() as V1Pod[]);
