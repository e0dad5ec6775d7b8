// The operator's rights are the least that works (issue 11 item 4): which rights it holds where, checked on the
// objects the install applies and on what the CAS controller creates at run time. The integration test
// (test/integration/operator/rbac.test.ts) runs the operator with exactly these rights.
import { describe, expect, test } from "bun:test";
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from "@kubernetes/client-node";
import fc from "fast-check";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import { installClusterName } from "../../../src/install/names.ts";
import { describeRoles, secretsForbiddenHint } from "../../../src/install/rbac.ts";
import { ForbiddenError } from "../../../src/kube/errors.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { renderCasObjects } from "../../../src/operator/cas/desired.ts";
import { backupControllerClusterBindingName } from "../../../src/operator/cas/names.ts";
import type { CAS } from "../../../src/resources/cas.ts";

const NS = "scone-system";
const OPERATOR = { kind: "ServiceAccount", name: "scone-controller-manager", namespace: NS };
const objects = renderInstallManifests({ namespace: NS });
const ofKind = <T>(kind: string) => objects.filter((o) => o.kind === kind) as T[];
const clusterRoles = ofKind<V1ClusterRole>("ClusterRole");
const roles = ofKind<V1Role>("Role");

const bindsOperator = (b: V1ClusterRoleBinding | V1RoleBinding) =>
  b.subjects?.some((s) => s.kind === OPERATOR.kind && s.name === OPERATOR.name && s.namespace === OPERATOR.namespace);
const rulesOf = (kind: string, name: string): V1PolicyRule[] =>
  (kind === "ClusterRole" ? clusterRoles : roles).find((r) => r.metadata?.name === name)?.rules ?? [];

/** The operator's rules cluster-wide (ClusterRoleBindings) and in its own namespace (RoleBindings there). */
const clusterWide = ofKind<V1ClusterRoleBinding>("ClusterRoleBinding")
  .filter(bindsOperator)
  .flatMap((b) => rulesOf(b.roleRef.kind, b.roleRef.name));
const inOwnNamespace = ofKind<V1RoleBinding>("RoleBinding")
  .filter(bindsOperator)
  .flatMap((b) => rulesOf(b.roleRef.kind, b.roleRef.name));

/** What the operator creates for a CAS whose backup controller is enabled. */
function backupControllerObjects() {
  const cas = {
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: { name: "prod", namespace: "team-a", uid: "u" },
    spec: { "backup-controller": { enabled: true, session: "s" } },
  } as unknown as CAS;
  return renderCasObjects(cas, { serviceVersion: "6.0.6", operatorNamespace: NS });
}

const grants = (rules: readonly V1PolicyRule[], resource: string, verb: string) =>
  rules.some(
    (r) =>
      (r.resources?.includes(resource) || r.resources?.includes("*")) &&
      (r.verbs.includes(verb) || r.verbs.includes("*")) &&
      !r.resourceNames?.length,
  );

describe("the operator's installed rights", () => {
  test("no rule of any installed role grants *, escalate, bind or impersonate", () => {
    const all = [...clusterRoles, ...roles].flatMap((r) => r.rules ?? []);
    expect(all.length).toBeGreaterThan(10);
    for (const rule of all) {
      expect(rule.verbs.filter((v) => ["*", "escalate", "bind", "impersonate"].includes(v))).toEqual([]);
      expect(rule.resources ?? []).not.toContain("*");
      expect(rule.apiGroups ?? []).not.toContain("*");
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  });

  test("no Secret is readable cluster-wide: Secrets only in the operator's namespace (and namespaces opted in)", () => {
    for (const verb of ["get", "list", "watch", "create", "update", "patch", "delete"])
      expect(grants(clusterWide, "secrets", verb)).toBe(false);
    for (const verb of ["get", "list", "watch", "create", "update", "patch"])
      expect(grants(inOwnNamespace, "secrets", verb)).toBe(true);
  });

  test("pods/exec only where bound by RoleBindings (the Scone stack's CAS, sconecli pods), never cluster-wide", () => {
    expect(grants(clusterWide, "pods/exec", "create")).toBe(false);
    expect(grants(clusterWide, "pods/exec", "get")).toBe(false);
    expect(grants(inOwnNamespace, "pods/exec", "create")).toBe(true);
    // A tenant opting a namespace in for Secrets grants no exec there: exec is its own role (the CAS driver's).
    const execRoles = [...clusterRoles, ...roles].filter((r) =>
      r.rules?.some((x) => x.resources?.includes("pods/exec")),
    );
    expect(execRoles.map((r) => `${r.kind}/${r.metadata?.name}/${r.metadata?.namespace}`)).toEqual([
      "ClusterRole/scone-manager-cas-driver-role/undefined",
      `Role/scone-manager-stack-role/${NS}`,
    ]);
    const bound = ofKind<V1ClusterRoleBinding>("ClusterRoleBinding").map((b) => b.roleRef.name);
    expect(bound).not.toContain("scone-manager-cas-driver-role");
  });

  test("pods/portforward only for an operator outside the cluster (--local-operator)", () => {
    expect(grants(clusterWide, "pods/portforward", "create")).toBe(false);
    const local = renderInstallManifests({ namespace: NS, webhook: { mode: "url", port: 19443 } });
    const manager = local.find((o) => o.kind === "ClusterRole" && o.metadata?.name === "scone-manager-role");
    expect(grants((manager as V1ClusterRole).rules ?? [], "pods/portforward", "create")).toBe(true);
  });

  test("no right to create or change Roles or ClusterRoles; the operator creates no role at run time", () => {
    for (const resource of ["roles", "clusterroles"])
      for (const verb of ["create", "update", "patch", "delete", "get", "list", "watch"])
        expect(grants([...clusterWide, ...inOwnNamespace], resource, verb)).toBe(false);
    const desired = backupControllerObjects();
    const kinds = [...desired.owned, ...desired.cluster].map((o) => o.kind);
    expect(kinds).toContain("RoleBinding");
    expect(kinds).not.toContain("Role");
    expect(kinds).not.toContain("ClusterRole");
  });

  test("the operator holds every right of the backup controller roles it binds (RBAC's condition, without bind)", () => {
    const bound = (o: KubeObject) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding";
    const desired = backupControllerObjects();
    const bindings = [...desired.owned, ...desired.cluster].filter(bound) as (V1RoleBinding | V1ClusterRoleBinding)[];
    expect(bindings.map((b) => b.roleRef.name).sort()).toEqual([
      "scone-backup-controller-node-role",
      "scone-backup-controller-role",
    ]);
    for (const b of bindings) {
      const rules = rulesOf("ClusterRole", b.roleRef.name);
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules)
        for (const resource of rule.resources ?? [])
          for (const verb of rule.verbs)
            expect(`${resource} ${verb} ${grants(clusterWide, resource, verb)}`).toBe(`${resource} ${verb} true`);
    }
  });

  test("every rule says which controller needs it and why", () => {
    for (const role of describeRoles(NS))
      for (const r of role.rules) {
        expect(r.by.length).toBeGreaterThan(0);
        expect(r.why.length).toBeGreaterThan(10);
      }
  });
});

describe("token reviews only for a server that takes bearer tokens (--with-api, --metrics-secure)", () => {
  /** Whether the operator may create TokenReviews and SubjectAccessReviews cluster-wide, with these flags. */
  const reviews = (flags: { withApi?: boolean; metricsSecure?: boolean }) => {
    const installed = renderInstallManifests({ namespace: NS, ...flags });
    const roleRules = (name: string) =>
      (installed.find((o) => o.kind === "ClusterRole" && o.metadata?.name === name) as V1ClusterRole | undefined)
        ?.rules ?? [];
    const rules = (installed.filter((o) => o.kind === "ClusterRoleBinding") as V1ClusterRoleBinding[])
      .filter(bindsOperator)
      .flatMap((b) => roleRules(b.roleRef.name));
    return ["tokenreviews", "subjectaccessreviews"].map((r) => `${r}: ${grants(rules, r, "create")}`);
  };

  test("a default install: the operator may create neither", () => {
    expect(reviews({})).toEqual(["tokenreviews: false", "subjectaccessreviews: false"]);
    expect(objects.some((o) => o.metadata?.name === installClusterName("scone-api-review-role", NS))).toBe(false);
  });

  test("--metrics-secure or --with-api: both, cluster-wide, through the review role and its binding", () => {
    for (const flags of [{ metricsSecure: true }, { withApi: true }, { withApi: true, metricsSecure: true }])
      expect(reviews(flags)).toEqual(["tokenreviews: true", "subjectaccessreviews: true"]);
  });

  test("describeRoles lists the review role only when asked (docs/RBAC.md lists it, marked as such)", () => {
    const named = (o: { tokenReviews?: boolean }) => describeRoles(NS, o).map((r) => r.name);
    expect(named({})).not.toContain("scone-api-review-role");
    const withReviews = describeRoles(NS, { tokenReviews: true }).find((r) => r.name === "scone-api-review-role");
    expect(withReviews?.boundWhere).toContain("only with --with-api or --metrics-secure");
  });
});

describe("cluster-scoped names are collision-free", () => {
  test("team-a/prod and team/a-prod get different backup controller ClusterRoleBindings", () => {
    expect(backupControllerClusterBindingName("team-a", "prod")).not.toBe(
      backupControllerClusterBindingName("team", "a-prod"),
    );
  });

  const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/);
  test("distinct (namespace, name) pairs never share a binding name", () => {
    // The shape of the old collision: where the "-" between two words falls, in the namespace or in the name.
    fc.assert(
      fc.property(label, label, label, (x, y, z) => {
        return (
          backupControllerClusterBindingName(`${x}-${y}`, z) !== backupControllerClusterBindingName(x, `${y}-${z}`)
        );
      }),
    );
    fc.assert(
      fc.property(label, label, label, label, (ns1, n1, ns2, n2) => {
        fc.pre(ns1 !== ns2 || n1 !== n2);
        return backupControllerClusterBindingName(ns1, n1) !== backupControllerClusterBindingName(ns2, n2);
      }),
    );
  });

  test("two installs in two namespaces share no cluster-scoped name", () => {
    const clusterNames = (ns: string) =>
      renderInstallManifests({ namespace: ns })
        .filter((o) => !o.metadata?.namespace && o.kind !== "Namespace")
        .map((o) => `${o.kind}/${o.metadata?.name}`);
    fc.assert(
      fc.property(label, label, (a, b) => {
        fc.pre(a !== b);
        const shared = clusterNames(a).filter((n) => clusterNames(b).includes(n));
        return shared.length === 0;
      }),
      { numRuns: 50 },
    );
    // The names that could have met: a namespace named like another base's suffix.
    expect(installClusterName("scone-backup-controller-role", "x")).not.toBe(
      installClusterName("scone-backup-controller-node-role", "scone-system"),
    );
  });
});

describe("a 403 on Secrets names the RoleBinding that grants them", () => {
  const forbidden = (path: string) =>
    new ForbiddenError({ code: 403, reason: "Forbidden", message: "forbidden" }, { method: "PATCH", path });

  test("for a Secret read or applied in a namespace not opted in", () => {
    for (const path of ["/api/v1/namespaces/team-a/secrets/las-dcap", "/api/v1/namespaces/team-a/secrets?x=1"])
      expect(secretsForbiddenHint(forbidden(path), "scone-ops")).toBe(
        "the operator may not use Secrets in namespace team-a; grant them there with: kubectl create rolebinding " +
          "scone-manager-namespace-rolebinding -n team-a --clusterrole=scone-manager-namespace-role-scone-ops " +
          "--serviceaccount=scone-ops:scone-controller-manager",
      );
  });

  test("not for other kinds, other errors", () => {
    expect(secretsForbiddenHint(forbidden("/api/v1/namespaces/team-a/secretstores/x"))).toBeUndefined();
    expect(secretsForbiddenHint(forbidden("/apis/apps/v1/namespaces/team-a/daemonsets/las"))).toBeUndefined();
    expect(secretsForbiddenHint(new Error("/api/v1/namespaces/team-a/secrets/x"))).toBeUndefined();
  });
});
