// How controllers are fed: the primary kind's events enqueue the object itself; events of owned objects
// enqueue their owner (through ownerReferences); other kinds (Nodes, Pods) map to the owners they affect.
// Owned kinds are watched only with the managed-by label, so the caches hold scone's objects, not the cluster's.

import type { CasDriverSource } from "../cas/driver/reach.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Informer, InformerScope } from "../kube/informer.ts";
import type { SharedInformers } from "../kube/shared-informers.ts";
import type { KubeObject, ObjectRef, TypeRef } from "../kube/types.ts";
import type { Logger } from "../log.ts";
import type { ImageMirror } from "../resources/defaults.ts";
import type { Controller, ReconcileRecord, ReconcileRequest } from "../runtime/controller.ts";
import type { AdmissionPolicy } from "./admission/policy.ts";
import type { Manager } from "./manager.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, type ObjectReader, type ReconcileKit } from "./reconcile-kit.ts";

export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

/** Everything a controller's registration function needs. */
export interface OperatorContext {
  readonly client: KubeClient;
  readonly informers: SharedInformers;
  readonly manager: Manager;
  readonly kit: ReconcileKit;
  readonly log: Logger;
  /** Namespace of the operator (default namespace of LAS and SGXPlugin pods: SCONE_OPERATOR_NAMESPACE). */
  readonly operatorNamespace: string;
  /** SCONE version used for images that name no tag (upstream GLOBAL_SCONE_VERSION). */
  readonly serviceVersion: string;
  /** Registry and prefix of every image the operator renders (imageMirrorFromEnv); default: upstream's. */
  readonly imageMirror?: ImageMirror;
  /**
   * How controllers reach a CAS (issue 13, src/cas/driver/source.ts): the sconecli pod per CAS, or the local CLI of
   * `scone operator --scone-cli`. Optional only so test contexts may leave it out.
   */
  readonly casDriverSource?: CasDriverSource;
  readonly recordHistory: (r: ReconcileRecord) => void;
  /** What tenant resources may run (allowed registries); default: the SCONE registry only. */
  readonly admissionPolicy?: AdmissionPolicy;
}

const typeKey = (t: TypeRef): string => `${t.apiVersion}/${t.kind}`;

/** Reads from the informer whose scope covers the kind, falling back to the API server for other kinds. */
export class InformerReader implements ObjectReader {
  private readonly scopes = new Map<string, InformerScope>();
  constructor(
    private readonly informers: SharedInformers,
    private readonly client: KubeClient,
  ) {}
  /** Declares that objects of this kind that scone manages are cached under `scope`. */
  cache(scope: InformerScope): Informer<KubeObject> {
    this.scopes.set(typeKey(scope.type), scope);
    return this.informers.informer(scope);
  }
  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const scope = this.scopes.get(typeKey(ref));
    // A kind cached in one namespace only (Secrets: the operator may read them only where it is granted them).
    if (!scope || (scope.namespace !== undefined && ref.namespace !== scope.namespace))
      return this.client.tryGet<T>(ref);
    const inf = this.informers.informer<T>(scope);
    if (!inf.hasSynced()) return this.client.tryGet<T>(ref);
    return ref.namespace ? inf.get(ref.namespace, ref.name) : inf.get(ref.name);
  }
}

export const requestOf = (o: KubeObject): ReconcileRequest => ({
  name: o.metadata?.name ?? "",
  ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
});

/** Enqueues the object itself on add, update and delete. */
export function watchPrimary(controller: Controller, informer: Informer<KubeObject>): void {
  const enqueue = (o: KubeObject) => controller.enqueue(requestOf(o));
  informer.addHandlers({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
}

/** Enqueues the owner (of kind `owner`) named in the controlling ownerReference of each event's object. */
export function watchOwned(
  controller: Controller,
  informer: Informer<KubeObject>,
  owner: TypeRef,
  ownerNamespaced: boolean,
): void {
  const enqueue = (o: KubeObject) => {
    for (const ref of o.metadata?.ownerReferences ?? []) {
      if (ref.kind !== owner.kind || ref.apiVersion !== owner.apiVersion) continue;
      controller.enqueue({
        name: ref.name,
        ...(ownerNamespaced && o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
      });
    }
  };
  informer.addHandlers({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
}

/** Enqueues whatever `map` says an event of another kind affects (e.g. every LAS on a Node change). */
export function watchMapped(
  controller: Controller,
  informer: Informer<KubeObject>,
  map: (o: KubeObject) => readonly ReconcileRequest[],
): void {
  const enqueue = (o: KubeObject) => {
    for (const r of map(o)) controller.enqueue(r);
  };
  informer.addHandlers({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
}
