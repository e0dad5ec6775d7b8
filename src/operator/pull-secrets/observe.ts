// What the pull-secret reconciler reads: the namespace and the source secrets from the caches, the secrets of the
// same names in the namespace by GET (only where the namespace concerns it, plan.ts concernsNamespace), and its
// memory of the namespaces it copied into.
import type { KubeClient } from "../../kube/client.ts";
import { ForbiddenError } from "../../kube/errors.ts";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { SECRET_TYPE, waitForCaches } from "../kit/caches.ts";
import { concernsNamespace, INJECTIONS, isOurCopy, mentionsAny, type NamespaceLike, type SecretLike } from "./plan.ts";

export interface PullSecretCaches {
  readonly namespaces: Informer<KubeObject>;
  /** Secrets in the operator's namespace (the sources). */
  readonly sources: Informer<KubeObject>;
}

/** Namespaces holding a copy of ours, as far as this process saw (after a restart: those still annotated). */
export class CopiedInto {
  private readonly names = new Set<string>();
  has(namespace: string): boolean {
    return this.names.has(namespace);
  }
  add(namespace: string): void {
    this.names.add(namespace);
  }
  /** An unannotated namespace's copies were just removed: no need to look there again. */
  settle(ns: NamespaceLike): void {
    if (!mentionsAny(ns)) this.names.delete(ns.metadata?.name ?? "");
  }
}

export interface ObserveDeps {
  readonly client: Pick<KubeClient, "tryGet">;
  readonly operatorNamespace: string;
  readonly caches: PullSecretCaches;
  readonly copied: CopiedInto;
}

export type Namespace = KubeObject & NamespaceLike;

export type PullSecretsSeen =
  /** Gone (its copies went with it), the operator's own namespace, or none of the operator's business. */
  | { readonly kind: "none" }
  /** The operator may not read Secrets there. */
  | { readonly kind: "forbidden"; readonly ns: Namespace }
  | {
      readonly kind: "seen";
      readonly ns: Namespace;
      readonly sources: ReadonlyMap<string, SecretLike | undefined>;
      readonly existing: ReadonlyMap<string, SecretLike | undefined>;
    };

/** The secrets of the injected names in `namespace` (undefined: absent). Throws ForbiddenError without the grant. */
async function readCopies(d: ObserveDeps, namespace: string, rctx: ReconcileContext) {
  const existing = new Map<string, SecretLike | undefined>();
  for (const { secret } of INJECTIONS) {
    const ref = { ...SECRET_TYPE, namespace, name: secret };
    existing.set(secret, await d.client.tryGet<KubeObject & SecretLike>(ref, { signal: rctx.signal }));
  }
  return existing;
}

export async function observeNamespace(d: ObserveDeps, name: string, rctx: ReconcileContext): Promise<PullSecretsSeen> {
  const { namespaces, sources } = d.caches;
  await waitForCaches([namespaces, sources], rctx.signal);
  const cached = namespaces.get(name) as Namespace | undefined;
  if (!cached || !concernsNamespace(cached, d.operatorNamespace, d.copied.has(name))) return { kind: "none" };
  // List items carry no apiVersion/kind; the Events need them.
  const ns: Namespace = { ...cached, apiVersion: "v1", kind: "Namespace" };
  let existing: Map<string, SecretLike | undefined>;
  try {
    existing = await readCopies(d, name, rctx);
  } catch (e) {
    if (e instanceof ForbiddenError) return { kind: "forbidden", ns };
    throw e;
  }
  if (INJECTIONS.some((i) => isOurCopy(existing.get(i.secret), d.operatorNamespace, i.secret))) d.copied.add(name);
  const opns = d.operatorNamespace;
  const sourceMap = new Map(INJECTIONS.map((i) => [i.secret, sources.get(opns, i.secret) as SecretLike | undefined]));
  return { kind: "seen", ns, sources: sourceMap, existing };
}
