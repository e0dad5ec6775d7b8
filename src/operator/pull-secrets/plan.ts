// Pull-secret injection, as upstream's image-pull-secret operator (secrets_operator.yaml) does it: the secret
// scone-operator-pull goes to namespaces annotated scone-operator/inject-pull-secret: "true", sconeapps to those
// annotated sconeapps/inject-pull-secret: "true", each a copy of the secret of that name in the operator's
// namespace, kept equal to it. Pure: what to do in one namespace. A secret of that name the operator did not create
// is never changed or removed; a copy is removed when its namespace loses the annotation or the source goes.
import { APPS_PULL_SECRET } from "../../flows/install/pull-secrets.ts";
import { OPERATOR_PULL_SECRET } from "../../install/names.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../reconcile-kit.ts";

export const INJECTIONS = [
  { annotation: "scone-operator/inject-pull-secret", secret: OPERATOR_PULL_SECRET },
  { annotation: "sconeapps/inject-pull-secret", secret: APPS_PULL_SECRET },
] as const;

/** On each copy: where it was copied from (NS/NAME). With the managed-by label, what marks a copy as ours. */
export const COPIED_FROM_ANNOTATION = "scone.cloud/pull-secret-copied-from";

export interface SecretLike {
  apiVersion?: string;
  kind?: string;
  type?: string;
  data?: Record<string, string>;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
}

export interface NamespaceLike {
  metadata?: { name?: string; annotations?: Record<string, string>; deletionTimestamp?: unknown };
  status?: { phase?: string };
}

export type InjectionAction =
  | { readonly op: "create"; readonly secret: SecretLike }
  | { readonly op: "update"; readonly secret: SecretLike }
  /** resourceVersion: the version judged ours; a changed secret is not deleted (precondition). */
  | { readonly op: "delete"; readonly name: string; readonly resourceVersion?: string }
  | { readonly op: "leave"; readonly name: string; readonly why: string };

/** Whether the namespace asks for any injection ("true"). */
export const wantsAny = (ns: NamespaceLike): boolean =>
  INJECTIONS.some((i) => ns.metadata?.annotations?.[i.annotation] === "true");
/** Whether the namespace carries any injection annotation, whatever its value. */
export const mentionsAny = (ns: NamespaceLike): boolean =>
  INJECTIONS.some((i) => ns.metadata?.annotations?.[i.annotation] !== undefined);

/**
 * Whether a namespace's Secrets are read at all: only where there may be something to do, a namespace that carries
 * an injection annotation (any value) or one a copy went to (its annotation may just have gone). Secrets elsewhere
 * are none of the operator's business, and a read there would be refused by RBAC in every namespace not opted in.
 */
export const concernsNamespace = (ns: NamespaceLike, operatorNamespace: string, copiedHere: boolean): boolean =>
  ns.metadata?.name !== operatorNamespace && (mentionsAny(ns) || copiedHere);

/** Missing rights are re-checked this often (a RoleBinding may be added any time; no event tells the operator). */
export const FORBIDDEN_RECHECK_MS = 5 * 60_000;

/**
 * Reading the namespace's Secrets was refused: a namespace that asks for a copy gets a Warning naming the grant to
 * add and a later look; without the annotation there is nothing of ours to keep or remove there.
 */
export function planForbidden(
  ns: NamespaceLike,
  grantHint: string,
): { warning: string; requeueAfterMs: number } | undefined {
  return wantsAny(ns) ? { warning: grantHint, requeueAfterMs: FORBIDDEN_RECHECK_MS } : undefined;
}

/** The Secret an action writes or removes. */
export const actionTarget = (action: InjectionAction): string =>
  action.op === "create" || action.op === "update" ? (action.secret.metadata?.name ?? "") : action.name;

export const copiedFrom = (operatorNamespace: string, name: string) => `${operatorNamespace}/${name}`;

export function isOurCopy(s: SecretLike | undefined, operatorNamespace: string, name: string): boolean {
  return (
    s?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
    s.metadata.annotations?.[COPIED_FROM_ANNOTATION] === copiedFrom(operatorNamespace, name)
  );
}

/** The copy of `source` in `namespace` (only type and data travel; the source's labels and annotations stay). */
export function copyOf(source: SecretLike, namespace: string, operatorNamespace: string, name: string): SecretLike {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: source.type ?? "kubernetes.io/dockerconfigjson",
    metadata: {
      name,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { [COPIED_FROM_ANNOTATION]: copiedFrom(operatorNamespace, name) },
    },
    data: { ...source.data },
  };
}

const sameData = (a: SecretLike, b: SecretLike) =>
  a.type === b.type &&
  JSON.stringify(Object.entries(a.data ?? {}).sort()) === JSON.stringify(Object.entries(b.data ?? {}).sort());

/**
 * What to do in `namespace` for each injected secret. `sources` are the secrets in the operator's namespace,
 * `existing` those of the same names in `namespace` (undefined: absent).
 */
export function planInjection(
  namespace: NamespaceLike,
  operatorNamespace: string,
  sources: ReadonlyMap<string, SecretLike | undefined>,
  existing: ReadonlyMap<string, SecretLike | undefined>,
): InjectionAction[] {
  const ns = namespace.metadata?.name ?? "";
  // The sources live in the operator's namespace: nothing is copied onto them.
  if (ns === operatorNamespace) return [];
  const terminating = namespace.metadata?.deletionTimestamp !== undefined || namespace.status?.phase === "Terminating";
  const actions: InjectionAction[] = [];
  for (const { annotation, secret } of INJECTIONS) {
    const source = sources.get(secret);
    const current = existing.get(secret);
    const ours = isOurCopy(current, operatorNamespace, secret);
    const wanted = !terminating && namespace.metadata?.annotations?.[annotation] === "true" && source !== undefined;
    if (!wanted) {
      const rv = current?.metadata?.resourceVersion;
      if (ours && !terminating) actions.push({ op: "delete", name: secret, ...(rv ? { resourceVersion: rv } : {}) });
      continue;
    }
    const desired = copyOf(source, ns, operatorNamespace, secret);
    if (!current) actions.push({ op: "create", secret: desired });
    else if (!ours)
      actions.push({
        op: "leave",
        name: secret,
        why: `Secret ${ns}/${secret} exists and was not created by scone: left as it is`,
      });
    else if (!sameData(current, desired)) {
      const rv = current.metadata?.resourceVersion;
      actions.push({
        op: "update",
        secret: { ...desired, metadata: { ...desired.metadata, ...(rv ? { resourceVersion: rv } : {}) } },
      });
    }
  }
  return actions;
}

/** The namespaces a change of the source secret `name` concerns: those annotated for it. */
export function namespacesFor(name: string, namespaces: readonly NamespaceLike[]): string[] {
  const annotations = INJECTIONS.filter((i) => i.secret === name).map((i) => i.annotation);
  return namespaces
    .filter((n) => annotations.some((a) => n.metadata?.annotations?.[a] !== undefined))
    .map((n) => n.metadata?.name ?? "");
}
