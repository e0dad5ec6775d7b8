// Who may do what, for both kinds of caller. A token caller (the SQLite token table: a laptop, an air-gapped host)
// has a scope, checked per route, and maybe a namespace list (namespaces.ts). A Kubernetes caller (`--kube-auth`)
// has no scope of its own: each handler names the Kubernetes verb and SCONE resource it needs, and the API server
// answers a SubjectAccessReview for that verb, in that namespace (RBAC is the one place rights are granted).
import type { AccessReviewer, ReviewedUser } from "../kube/access-review.ts";
import type { TokenInfo } from "../store/tokens.ts";
import { listNamespaces, requireClusterWide, requireNamespace } from "./namespaces.ts";
import { ApiProblem } from "./problem.ts";
import { RESOURCE_KINDS } from "./resource-cache.ts";

/** A caller authenticated by a Kubernetes bearer token; one object per request. */
export interface KubeCaller {
  readonly via: "kubernetes";
  /** The Kubernetes user name, e.g. system:serviceaccount:team-a:ci (what the call audit and operations record). */
  readonly name: string;
  readonly user: ReviewedUser;
  /** Reviews asked during this request: a route that answers without any is a bug (requireScope turns it into 500). */
  reviews: number;
  may(action: KubeAction, namespace: string | undefined): Promise<boolean>;
}

export type TokenCaller = TokenInfo & { readonly via?: "token" };
export type Caller = TokenCaller | KubeCaller;

export const isKubeCaller = (c: Caller): c is KubeCaller => c.via === "kubernetes";

/** What a route asks of RBAC: a verb on a resource of the SCONE API group (sub-resources for the API's own data). */
export interface KubeAction {
  readonly verb: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly name?: string;
}

/** The API group of a SCONE kind by its plural. */
export function groupOf(plural: string): string {
  const type = RESOURCE_KINDS.get(plural);
  if (!type) throw new Error(`no SCONE kind "${plural}"`);
  return type.apiVersion.split("/")[0] ?? "";
}

/** The request's caller for a Kubernetes token; `may` asks (and caches) one SubjectAccessReview per question. */
export function kubeCaller(reviewer: AccessReviewer, token: string, user: ReviewedUser): KubeCaller {
  const caller: KubeCaller = {
    via: "kubernetes",
    name: user.username,
    user,
    reviews: 0,
    may: (action, namespace) => {
      caller.reviews++;
      return reviewer.allowed(token, user, {
        verb: action.verb,
        group: groupOf(action.resource),
        resource: action.resource,
        ...(action.subresource ? { subresource: action.subresource } : {}),
        ...(namespace ? { namespace } : {}),
        ...(action.name ? { name: action.name } : {}),
      });
    },
  };
  return caller;
}

function describe(action: KubeAction): string {
  const what = action.subresource ? `${action.resource}/${action.subresource}` : action.resource;
  return `"${action.verb}" on ${what}.${groupOf(action.resource)}`;
}

function refuse(caller: KubeCaller, action: KubeAction, where: string, fix: string): never {
  throw new ApiProblem(
    403,
    "Forbidden",
    `${caller.name} may not ${describe(action)} ${where} (Kubernetes RBAC); ${fix}`,
  );
}

/** Throws 403 unless the caller may do `action` in `namespace`. */
export async function authorizeIn(caller: Caller, action: KubeAction, namespace: string): Promise<void> {
  if (!isKubeCaller(caller)) return requireNamespace(caller, namespace);
  if (await caller.may(action, namespace)) return;
  refuse(
    caller,
    action,
    `in namespace "${namespace}"`,
    `grant it with a RoleBinding there (e.g. to ClusterRole scone-api-operator or scone-api-viewer, docs/RBAC.md)`,
  );
}

/** Throws 403 unless the caller may do `action` cluster-wide (cluster-scoped kinds, lists of every namespace). */
export async function authorizeClusterWide(caller: Caller, action: KubeAction, what: string): Promise<void> {
  if (!isKubeCaller(caller)) return requireClusterWide(caller, what);
  if (await caller.may(action, undefined)) return;
  refuse(caller, action, "cluster-wide", `${what} needs a ClusterRoleBinding (docs/RBAC.md)`);
}

/**
 * The namespaces a list may show: the requested one (403 when refused there), else every namespace the caller may
 * see (token: its namespace list or all; Kubernetes: all when allowed cluster-wide, else 403 asking for namespace=).
 */
export async function authorizeList(
  caller: Caller,
  action: KubeAction,
  requested: string | undefined,
): Promise<readonly string[] | undefined> {
  if (!isKubeCaller(caller)) return listNamespaces(caller, requested);
  if (requested !== undefined) {
    await authorizeIn(caller, action, requested);
    return [requested];
  }
  if (await caller.may(action, undefined)) return undefined;
  return refuse(
    caller,
    action,
    "in every namespace",
    "add ?namespace=NS for a namespace it is granted, or grant it cluster-wide with a ClusterRoleBinding",
  );
}

/**
 * Whether the caller sees secret-bearing fields (redact.ts): admin tokens only. Kubernetes callers never do:
 * nothing the API serves needs them, and whoever may read them reads the objects from the API server directly.
 */
export function seesSecrets(caller: Caller): boolean {
  return !isKubeCaller(caller) && caller.scope === "admin";
}
