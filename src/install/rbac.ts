// The operator's permissions, least privilege: each rule says which part of the operator needs it. Upstream's role
// also grants helm's needs (clusterroles, serviceaccounts, full pods, namespaces); scone renders objects itself
// and needs none of those.
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from "@kubernetes/client-node";
import { resourceDefinitions, SCONE_KINDS } from "../resources/kinds.ts";
import {
  CLUSTER_ROLE_BINDING_NAME,
  CLUSTER_ROLE_NAME,
  LEADER_ELECTION_ROLE_BINDING_NAME,
  LEADER_ELECTION_ROLE_NAME,
  mutatingWebhookConfigurationName,
  SERVICE_ACCOUNT_NAME,
  validatingWebhookConfigurationName,
} from "./names.ts";

const READ = ["get", "list", "watch"];
/** Objects the operator renders and owns: read, create, change, delete (never deletecollection). */
const MANAGE = ["create", "delete", "get", "list", "patch", "update", "watch"];

/** A rule with the reason it exists (the reason is not rendered; it documents the table and is tested for). */
export interface ExplainedRule {
  readonly rule: V1PolicyRule;
  readonly why: string;
}

function sconeResourceRules(): ExplainedRule[] {
  const byGroup = new Map<string, string[]>();
  for (const kind of SCONE_KINDS) {
    const d = resourceDefinitions[kind];
    byGroup.set(d.group, [...(byGroup.get(d.group) ?? []), d.plural]);
  }
  const rules: ExplainedRule[] = [];
  for (const [group, plurals] of [...byGroup].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...plurals].sort();
    rules.push(
      {
        rule: { apiGroups: [group], resources: sorted, verbs: MANAGE },
        why: "reconcile the scone resources; the Scone stack kind creates and deletes CAS, LAS and SGXPlugin objects",
      },
      {
        rule: { apiGroups: [group], resources: sorted.map((p) => `${p}/status`), verbs: ["get", "patch", "update"] },
        why: "write status and conditions",
      },
      {
        rule: { apiGroups: [group], resources: sorted.map((p) => `${p}/finalizers`), verbs: ["update"] },
        why: "add and remove finalizers; ownerReferences with blockOwnerDeletion need it too",
      },
    );
  }
  return rules;
}

/** The rules of ClusterRole scone-manager-role. */
export function managerRules(): ExplainedRule[] {
  const crdNames = SCONE_KINDS.map((k) => `${resourceDefinitions[k].plural}.${resourceDefinitions[k].group}`).sort();
  return [
    ...sconeResourceRules(),
    {
      rule: { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "statefulsets"], verbs: MANAGE },
      why: "LAS and SGX plugin DaemonSets, CAS StatefulSet, backup controller and safety service Deployments",
    },
    {
      rule: {
        apiGroups: [""],
        resources: ["configmaps", "persistentvolumeclaims", "secrets", "services"],
        verbs: MANAGE,
      },
      why: "CAS configuration, database and snapshot volumes, owner identities and pull secrets, CAS Services",
    },
    {
      rule: { apiGroups: [""], resources: ["pods"], verbs: [...READ, "create", "delete"] },
      why: "pod health of LAS, SGX plugin and CAS; delete a CAS pod stuck on a lost node; create is held so the backup controller's Role may grant it (RBAC forbids granting what one lacks)",
    },
    {
      rule: { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
      why: "the admission policy: a namespace's allowance labels (scone.cloud/allow-*), read when a CAS or Vault asks for such a right",
    },
    {
      rule: { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get"] },
      why: "the zone of the CAS database volume, before moving CAS",
    },
    {
      rule: { apiGroups: [""], resources: ["serviceaccounts"], verbs: MANAGE },
      why: "the backup controller's ServiceAccount",
    },
    {
      rule: {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
        verbs: MANAGE,
      },
      why: "the backup controller's RBAC (it starts backup CAS pods on nodes); watched so the CAS controller's caches sync",
    },
    {
      rule: { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      why: "CAS audit log and provisioning output",
    },
    {
      rule: { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
      why: "CAS provisioning and snapshots run in the CAS pod",
    },
    {
      rule: { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch", "watch"] },
      why: "SGX capacity and the las.scontain.com node labels",
    },
    { rule: { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }, why: "events on the resources" },
    {
      rule: { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: MANAGE },
      why: "CAS and safety service PodDisruptionBudgets",
    },
    {
      rule: { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: MANAGE },
      why: "CAS NetworkPolicy (spec.networkPolicy)",
    },
    {
      rule: {
        apiGroups: ["apiextensions.k8s.io"],
        resources: ["customresourcedefinitions"],
        resourceNames: crdNames,
        verbs: READ,
      },
      why: "check that the scone CRDs are installed and current",
    },
  ];
}

/** Rules only the operator's own namespace needs: its Lease and its webhook configurations' caBundle. */
export function webhookConfigurationRules(namespace: string): ExplainedRule[] {
  return [
    {
      rule: {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations"],
        resourceNames: [mutatingWebhookConfigurationName(namespace)],
        verbs: ["get", "list", "patch", "watch"],
      },
      why: "keep caBundle current (list/watch by metadata.name field selector)",
    },
    {
      rule: {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        resourceNames: [validatingWebhookConfigurationName(namespace)],
        verbs: ["get", "list", "patch", "watch"],
      },
      why: "keep caBundle current (list/watch by metadata.name field selector)",
    },
  ];
}

export function leaderElectionRules(): ExplainedRule[] {
  return [
    {
      rule: {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["create", "get", "list", "patch", "update", "watch"],
      },
      why: "leader election Lease",
    },
  ];
}

const rulesOf = (rules: readonly ExplainedRule[]): V1PolicyRule[] => rules.map((r) => structuredClone(r.rule));

export function renderRbac(
  namespace: string,
  labels: Record<string, string>,
): [V1ClusterRole, V1ClusterRoleBinding, V1Role, V1RoleBinding] {
  const subjects = [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT_NAME, namespace }];
  // The webhook configurations are named after the namespace, so two operators in two namespaces need two roles.
  const clusterRoleName = namespace === "scone-system" ? CLUSTER_ROLE_NAME : `${CLUSTER_ROLE_NAME}-${namespace}`;
  const clusterRoleBindingName =
    namespace === "scone-system" ? CLUSTER_ROLE_BINDING_NAME : `${CLUSTER_ROLE_BINDING_NAME}-${namespace}`;
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: clusterRoleName, labels: { ...labels } },
      rules: rulesOf([...managerRules(), ...webhookConfigurationRules(namespace)]),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: clusterRoleBindingName, labels: { ...labels } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRoleName },
      subjects,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: LEADER_ELECTION_ROLE_NAME, namespace, labels: { ...labels } },
      rules: rulesOf(leaderElectionRules()),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: LEADER_ELECTION_ROLE_BINDING_NAME, namespace, labels: { ...labels } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: LEADER_ELECTION_ROLE_NAME },
      subjects,
    },
  ];
}
