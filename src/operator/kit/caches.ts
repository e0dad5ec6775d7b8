// Cache helpers every controller shares: the informer of an owned kind, waiting for the first list, the one
// resource of a one-per-cluster kind, and the type references the controllers watch.
import type { Informer, InformerScope } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import type { ReconcileRequest } from "../../runtime/controller.ts";
import { InformerReader, type OperatorContext } from "../wiring.ts";

export const DAEMONSET_TYPE: TypeRef = { apiVersion: "apps/v1", kind: "DaemonSet" };
export const SECRET_TYPE: TypeRef = { apiVersion: "v1", kind: "Secret" };
export const NODE_TYPE: TypeRef = { apiVersion: "v1", kind: "Node" };
export const POD_TYPE: TypeRef = { apiVersion: "v1", kind: "Pod" };

/** The informer of an owned kind, declared to the reader so applyOwned compares against the cache. */
export function cacheOwned(ctx: OperatorContext, scope: InformerScope): Informer<KubeObject> {
  const reader = ctx.kit.reader;
  return reader instanceof InformerReader ? reader.cache(scope) : ctx.informers.informer(scope);
}

/** Waits (bounded) for the caches' first list: a reconcile must not read "absent" from an empty cache. */
export async function waitForCaches(informers: readonly Informer<KubeObject>[], signal: AbortSignal): Promise<void> {
  if (informers.every((i) => i.hasSynced())) return;
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(15_000)]);
  try {
    await Promise.all(informers.map((i) => i.waitForSync(bounded)));
  } catch {
    throw new Error(
      `caches not synced yet: ${informers
        .filter((i) => !i.hasSynced())
        .map((i) => i.name)
        .join(", ")}`,
    );
  }
}

const created = (o: KubeObject) => String(o.metadata?.creationTimestamp ?? "");

/** The one resource of a kind the operator reconciles: the oldest that is not being deleted. */
export function primaryOf<T extends KubeObject>(all: readonly T[]): T | undefined {
  return [...all]
    .filter((o) => !o.metadata?.deletionTimestamp)
    .sort(
      (a, b) => created(a).localeCompare(created(b)) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    )[0];
}

/** Enqueue every resource of the primary informer (one-per-cluster kinds: a change may hand over the role). */
export const everyResource = (primary: Informer<KubeObject>) => (): ReconcileRequest[] =>
  primary.list().map((o) => ({ name: o.metadata?.name ?? "" }));
