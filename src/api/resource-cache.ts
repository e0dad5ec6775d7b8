// What the resource routes read: the SCONE objects as the informers cache them. Requests never call the API
// server; while a kind's cache has not synced yet its reads answer 503, after that they answer from the cache
// (also during an API-server outage: the informer keeps the last state and catches up when it returns).
import type { Informer } from "../kube/informer.ts";
import type { SharedInformers } from "../kube/shared-informers.ts";
import type { KubeObject } from "../kube/types.ts";
import { type SconeResourceType, sconeResourceTypes } from "../resources/crds.ts";
import type { SconeKind } from "../resources/kinds.ts";

export interface ResourceCache {
  /** Why reads of this kind are refused now (503), or undefined when its cache has synced. */
  notReady(kind: SconeKind): string | undefined;
  /** Every cached object of the kind, in no particular order. */
  list(kind: SconeKind): readonly KubeObject[];
  get(kind: SconeKind, namespace: string | undefined, name: string): KubeObject | undefined;
}

/** The kinds by their URL name (the CRD plural): cas, las, sgxplugins, signedpolicies, … */
export const RESOURCE_KINDS: ReadonlyMap<string, SconeResourceType> = new Map(
  sconeResourceTypes.map((t) => [t.plural, t]),
);
export const RESOURCE_KIND_NAMES = [...RESOURCE_KINDS.keys()] as [string, ...string[]];

/** One cluster-wide informer per SCONE kind, from the shared factory (start the factory to fill them). */
export function informerResourceCache(informers: SharedInformers): ResourceCache {
  const byKind = new Map<SconeKind, Informer<KubeObject>>();
  for (const t of sconeResourceTypes) {
    byKind.set(t.kind, informers.informer<KubeObject>({ type: { apiVersion: t.apiVersion, kind: t.kind } }));
  }
  const informerOf = (kind: SconeKind): Informer<KubeObject> => {
    const inf = byKind.get(kind);
    if (!inf) throw new Error(`no informer for kind ${kind}`);
    return inf;
  };
  return {
    notReady(kind) {
      const inf = informerOf(kind);
      return inf.hasSynced() ? undefined : `the ${kind} cache has not synced yet: ${inf.health().reason ?? "starting"}`;
    },
    list: (kind) => informerOf(kind).list(),
    get: (kind, namespace, name) =>
      namespace === undefined ? informerOf(kind).get(name) : informerOf(kind).get(namespace, name),
  };
}
