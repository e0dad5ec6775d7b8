// Tokens limited to namespaces (`scone api token create --namespace NS`): such a token acts only on objects in its
// namespaces. A call naming another namespace is a 403 that names it; lists without a namespace filter show only
// the token's namespaces; cluster-scoped kinds (LAS, SGX plugins, Scone) are out of reach (they serve every
// namespace). A token without namespaces (null) reaches everything its scope allows.
import type { TokenInfo } from "../store/tokens.ts";
import { ApiProblem } from "./problem.ts";

type Caller = Pick<TokenInfo, "name" | "namespaces">;

export function namespaceAllowed(caller: Caller, namespace: string): boolean {
  return caller.namespaces === null || caller.namespaces.includes(namespace);
}

function limitedTo(caller: Caller): string {
  return (caller.namespaces ?? []).join(", ");
}

/** Throws 403 naming `namespace` when the token may not act there. */
export function requireNamespace(caller: Caller, namespace: string): void {
  if (namespaceAllowed(caller, namespace)) return;
  throw new ApiProblem(
    403,
    "Forbidden",
    `token "${caller.name}" is limited to namespaces ${limitedTo(caller)}; namespace "${namespace}" is not one of them`,
  );
}

/** Throws 403 for a namespace-limited token: cluster-scoped objects serve every namespace. */
export function requireClusterWide(caller: Caller, what: string): void {
  if (caller.namespaces === null) return;
  throw new ApiProblem(
    403,
    "Forbidden",
    `token "${caller.name}" is limited to namespaces ${limitedTo(caller)}; ${what} is cluster-scoped and needs a token without --namespace`,
  );
}

/**
 * The namespaces a list may show: the requested one (403 when the token may not see it), else every namespace
 * of a limited token, else undefined (no restriction).
 */
export function listNamespaces(caller: Caller, requested: string | undefined): readonly string[] | undefined {
  if (requested !== undefined) {
    requireNamespace(caller, requested);
    return [requested];
  }
  return caller.namespaces ?? undefined;
}
