// A synced informer over a fixed list, for reconciler tests without a cluster: get(name) for cluster-scoped
// objects, get(namespace, name) for namespaced ones, list(namespace?) filtered by namespace.
import type { Informer } from "../../../../src/kube/informer.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";

export function syncedCache(objects: readonly unknown[] = [], name = "cache"): Informer<KubeObject> {
  const all = objects as KubeObject[];
  const matches = (o: KubeObject, a: string, b?: string) =>
    b === undefined ? o.metadata?.name === a : o.metadata?.namespace === a && o.metadata?.name === b;
  return {
    name,
    hasSynced: () => true,
    waitForSync: async () => {},
    get: (a: string, b?: string) => all.find((o) => matches(o, a, b)),
    list: (ns?: string) => all.filter((o) => ns === undefined || o.metadata?.namespace === ns),
  } as unknown as Informer<KubeObject>;
}
