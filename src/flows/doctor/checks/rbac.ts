// RBAC complete (pure): the rules the operator's ServiceAccount holds in its namespace, as a SelfSubjectRulesReview
// made with its own token answers, against the rules the installer grants it (src/install/rbac.ts).
import type { V1PolicyRule, V1ResourceRule } from "@kubernetes/client-node";
import { SERVICE_ACCOUNT_NAME } from "../../../install/names.ts";
import { describeRoles } from "../../../install/rbac.ts";
import { type Finding, fail, ok, warn } from "../finding.ts";

interface Need {
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
  readonly name?: string;
}

const has = (list: readonly string[] | undefined, v: string) => (list ?? []).includes(v) || (list ?? []).includes("*");

function covers(g: V1ResourceRule, n: Need): boolean {
  if (!has(g.apiGroups, n.group) || !has(g.verbs, n.verb)) return false;
  const [base] = n.resource.split("/");
  const resources = g.resources ?? [];
  const resourceOk =
    has(resources, n.resource) ||
    (n.resource.includes("/") && resources.includes(`${base}/*`)) ||
    resources.includes("*/*");
  if (!resourceOk) return false;
  if (!g.resourceNames || g.resourceNames.length === 0) return true;
  return n.name !== undefined && g.resourceNames.includes(n.name);
}

/** Every (group, resource, verb, name) the expected rules grant that no granted rule covers. */
export function missingRules(expected: readonly V1PolicyRule[], granted: readonly V1ResourceRule[]): Need[] {
  const missing: Need[] = [];
  for (const rule of expected) {
    for (const group of rule.apiGroups ?? [""])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs)
          for (const name of rule.resourceNames?.length ? rule.resourceNames : [undefined]) {
            const need: Need = { group, resource, verb, ...(name ? { name } : {}) };
            if (!granted.some((g) => covers(g, need))) missing.push(need);
          }
  }
  return missing;
}

const describe = (n: Need) => `${n.verb} ${n.group ? `${n.group}/` : ""}${n.resource}${n.name ? ` ${n.name}` : ""}`;

/**
 * Whether the install runs a server that reviews bearer tokens, so the operator's account must hold the
 * TokenReview/SubjectAccessReview rights (src/install/rbac.ts `tokenReviews`): the operator with
 * `--metrics-secure`, or the API Deployment (`--with-api`).
 */
export function reviewsTokens(operatorArgs: readonly string[] | undefined, apiDeployed: boolean): boolean {
  return apiDeployed || (operatorArgs ?? []).some((a) => a === "--metrics-secure" || a === "--metrics-secure=true");
}

/** The rules the installer grants the operator's ServiceAccount in `namespace` (with the review rights or not). */
export function operatorRules(namespace: string, tokenReviews: boolean): V1PolicyRule[] {
  const subject = `ServiceAccount ${namespace}/${SERVICE_ACCOUNT_NAME}`;
  return describeRoles(namespace, { tokenReviews })
    .filter((r) => r.subject === subject)
    .flatMap((r) => r.rules.map((x) => x.rule));
}

export type RulesReview =
  | { readonly state: "reviewed"; readonly rules: readonly V1ResourceRule[]; readonly incomplete: boolean }
  | { readonly state: "not-checked"; readonly why: string };

export function rbacFinding(
  namespace: string,
  serviceAccount: string,
  expected: readonly V1PolicyRule[],
  review: RulesReview,
): Finding {
  const check = "rbac";
  if (review.state === "not-checked")
    return warn(
      check,
      `not checked: ${review.why}`,
      "run scone doctor as a cluster administrator (it asks for a token of the operator's ServiceAccount)",
    );
  const missing = missingRules(expected, review.rules);
  const who = `ServiceAccount ${namespace}/${serviceAccount}`;
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).map(describe).join(", ");
    const more = missing.length > 8 ? ` and ${missing.length - 8} more` : "";
    const text = `${who} lacks ${missing.length} permission(s) in ${namespace}: ${shown}${more}`;
    const fix =
      "scone operator install --reconcile restores the roles and bindings (docs/RBAC.md lists what each is for)";
    // An incomplete review (another authorizer, e.g. a webhook) may grant what RBAC does not show.
    return review.incomplete
      ? warn(check, `${text} (the review is incomplete: another authorizer may grant them)`, fix)
      : fail(check, text, fix);
  }
  return ok(check, `${who} holds every permission the operator needs in ${namespace}`);
}
