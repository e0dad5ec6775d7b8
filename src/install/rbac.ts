// The operator's permissions, least privilege: each rule says which controller needs it and why (docs/RBAC.md is
// generated from these, hack/rbac-doc.ts). Upstream's role also grants helm's needs (clusterroles, full pods,
// namespaces); scone renders objects itself and needs none of those. Nothing here grants "*", escalate, bind or
// impersonate, and the operator creates no Role or ClusterRole at run time: the backup controllers' ClusterRoles
// are installed here, and the operator only binds them (which RBAC allows for rights the operator holds itself).
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from "@kubernetes/client-node";
import { ForbiddenError } from "../kube/errors.ts";
import type { KubeObject } from "../kube/types.ts";
import { resourceDefinitions, SCONE_KINDS } from "../resources/kinds.ts";
import {
  API_OPERATOR_ROLE_NAME,
  API_REVIEW_ROLE_BINDING_NAME,
  API_REVIEW_ROLE_NAME,
  API_VIEWER_ROLE_NAME,
  BACKUP_CONTROLLER_NODE_ROLE_NAME,
  BACKUP_CONTROLLER_ROLE_NAME,
  CAS_DRIVER_ROLE_BINDING_NAME,
  CAS_DRIVER_ROLE_NAME,
  CLUSTER_ROLE_BINDING_NAME,
  CLUSTER_ROLE_NAME,
  DEFAULT_NAMESPACE,
  installClusterName,
  LEADER_ELECTION_ROLE_BINDING_NAME,
  LEADER_ELECTION_ROLE_NAME,
  mutatingWebhookConfigurationName,
  NAMESPACE_ROLE_BINDING_NAME,
  NAMESPACE_ROLE_NAME,
  SERVICE_ACCOUNT_NAME,
  STACK_ROLE_BINDING_NAME,
  STACK_ROLE_NAME,
  validatingWebhookConfigurationName,
} from "./names.ts";

const READ = ["get", "list", "watch"];
/** Objects the operator renders and owns: read, create, change, delete (never deletecollection). */
const MANAGE = ["create", "delete", "get", "list", "patch", "update", "watch"];

/** A rule with who needs it and why (not rendered into the object; they make docs/RBAC.md). */
export interface ExplainedRule {
  readonly rule: V1PolicyRule;
  /** The part of the operator (or the backup controller) that makes these requests. */
  readonly by: string;
  readonly why: string;
}

/** The SCONE kinds' plurals by API group, groups and plurals sorted. */
function pluralsByGroup(): [string, string[]][] {
  const byGroup = new Map<string, string[]>();
  for (const kind of SCONE_KINDS) {
    const d = resourceDefinitions[kind];
    byGroup.set(d.group, [...(byGroup.get(d.group) ?? []), d.plural]);
  }
  return [...byGroup].sort(([a], [b]) => a.localeCompare(b)).map(([g, plurals]) => [g, [...plurals].sort()]);
}

function sconeResourceRules(): ExplainedRule[] {
  const rules: ExplainedRule[] = [];
  for (const [group, sorted] of pluralsByGroup()) {
    const by = `the ${sorted.join(", ")} controllers`;
    rules.push(
      {
        rule: { apiGroups: [group], resources: sorted, verbs: MANAGE },
        by,
        why: "reconcile the scone resources; the Scone stack kind creates and deletes CAS, LAS and SGXPlugin objects",
      },
      {
        rule: { apiGroups: [group], resources: sorted.map((p) => `${p}/status`), verbs: ["get", "patch", "update"] },
        by,
        why: "write status and conditions",
      },
      {
        rule: { apiGroups: [group], resources: sorted.map((p) => `${p}/finalizers`), verbs: ["update"] },
        by,
        why: "add and remove finalizers; ownerReferences with blockOwnerDeletion need it too",
      },
    );
  }
  return rules;
}

/** The rules of ClusterRole scone-manager-role (bound cluster-wide). */
export function managerRules(): ExplainedRule[] {
  // No customresourcedefinitions: the operator never reads them (the installer, with the user's rights, does).
  return [
    ...sconeResourceRules(),
    {
      rule: { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "statefulsets"], verbs: MANAGE },
      by: "las, sgxplugin, cas, vault, scone",
      why: "LAS and SGX plugin DaemonSets, CAS and Vault StatefulSets, backup controller and safety service Deployments; scone sets the operator Deployment's node selector",
    },
    {
      rule: { apiGroups: [""], resources: ["configmaps", "persistentvolumeclaims", "services"], verbs: MANAGE },
      by: "cas, vault, every controller",
      why: "CAS configuration, CAS and Vault Services and volumes (PVCs are watched for their zone and kept on deletion); the bounded reconcile history of each resource (a ConfigMap beside it, read by `scone operator history`)",
    },
    {
      rule: { apiGroups: [""], resources: ["pods"], verbs: [...READ, "create", "delete"] },
      by: "las, sgxplugin, cas, vault",
      why: "pod health of LAS, SGX plugin, CAS and Vault; delete a CAS pod stuck on a lost node; create, find and replace the sconecli pod of each CAS (the SCONE CLI that reaches CAS, src/cas/driver). create is also needed to bind the installed backup controller ClusterRole (which creates backup CAS pods) in a CAS namespace: RBAC allows that only while the operator holds these rights itself (bind is not granted)",
    },
    {
      rule: { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      by: "las, cas, audit shipper",
      why: "the QE public keys in LAS logs; the CAS state line in the CAS log; each CAS pod's audit log, followed and shipped to the archive (docs/state.md). Also held so the backup controller ClusterRole may be bound",
    },
    {
      rule: { apiGroups: [""], resources: ["namespaces"], verbs: READ },
      by: "webhooks, cas, vault, pull-secrets",
      why: "the admission policy: a namespace's allowance labels (scone.cloud/allow-*), read when a CAS or Vault asks for such a right; list and watch: the namespaces annotated scone-operator/inject-pull-secret or sconeapps/inject-pull-secret, which receive copies of the pull secrets (where the namespace role below is bound)",
    },
    {
      rule: { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get"] },
      by: "cas",
      why: "the zone of the CAS database volume, before moving CAS",
    },
    {
      rule: { apiGroups: [""], resources: ["serviceaccounts"], verbs: MANAGE },
      by: "cas",
      why: "the backup controller's ServiceAccount",
    },
    {
      rule: {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["rolebindings", "clusterrolebindings"],
        verbs: MANAGE,
      },
      by: "cas",
      why: "bind the installed backup controller ClusterRoles to a CAS's backup controller (a RoleBinding in the CAS namespace, a ClusterRoleBinding for nodes); the API server allows a binding only to rights the operator holds itself. No Role or ClusterRole is created at run time",
    },
    {
      rule: { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch", "watch"] },
      by: "sgxplugin, las, cas",
      why: "SGX capacity, the las.scontain.com node labels, the backup controller's registrations; patch also held so the backup controller's node ClusterRole may be bound",
    },
    {
      rule: { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      by: "every controller",
      why: "events on the resources",
    },
    {
      rule: { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: MANAGE },
      by: "cas",
      why: "CAS and safety service PodDisruptionBudgets",
    },
    {
      rule: { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: MANAGE },
      by: "cas",
      why: "CAS NetworkPolicy (spec.networkPolicy)",
    },
  ];
}

/**
 * Only for an operator that runs outside the cluster (`--local-operator`): it reaches a CAS through the API server's
 * port-forward instead of the CAS Service (a local SCONE CLI, src/cas/driver/reach.ts). An in-cluster install does not get it.
 */
export function localOperatorRules(): ExplainedRule[] {
  return [
    {
      rule: { apiGroups: [""], resources: ["pods/portforward"], verbs: ["create", "get"] },
      by: "cas, policies (operator outside the cluster)",
      why: "reach the CAS client port of NAME-0 through the API server, as kubectl provision does (a WebSocket upgrade is authorized as get and create)",
    },
  ];
}

/**
 * The rules of ClusterRole scone-manager-namespace-role: Secrets, only in namespaces where it is bound. The install
 * binds it in the operator's namespace; a namespace with a CAS whose policies the operator registers, or with the
 * s3Creds of the Scone stack, or with a LAS outside the operator's namespace, is opted in by binding it there.
 */
export function namespaceRules(): ExplainedRule[] {
  return [
    {
      rule: { apiGroups: [""], resources: ["secrets"], verbs: MANAGE },
      by: "webhooks, las, scone, cas driver, pull-secrets",
      why: "the webhook certificate (webhook-server-cert), the LAS DCAP key Secret, the Scone stack's copy of its S3 credentials (and reading the original), the operator's own SCONE CLI identity <cas>-sconecli-operator (policies, status probe); the pull secrets scone-operator-pull and sconeapps (read in the operator's namespace, copied into annotated namespaces where this role is bound)",
    },
  ];
}

/**
 * The rules of ClusterRole scone-manager-cas-driver-role: exec, only in namespaces where it is bound. A separate
 * role from Secrets: opting a namespace in for Secrets grants no exec there.
 */
export function casDriverRules(): ExplainedRule[] {
  return [
    {
      rule: { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
      by: "cas driver (status probe, policies)",
      why: "run SCONE CLI commands in the sconecli pod of a CAS in this namespace; the status probe's stat of last-completed in the CAS pod's snapshot volume (a WebSocket upgrade is authorized as get and create)",
    },
  ];
}

/** The rules of Role scone-manager-stack-role in the operator's namespace. */
export function stackRules(): ExplainedRule[] {
  return [
    {
      rule: { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
      by: "scone",
      why: "scheduled backups of the Scone stack's CAS (cas-0 in the operator's namespace) read the snapshot in the pod (a WebSocket upgrade is authorized as get and create)",
    },
  ];
}

/** The backup controller's rights in its CAS's namespace (ClusterRole scone-backup-controller-role, bound per CAS). */
export function backupControllerRules(): ExplainedRule[] {
  return [
    {
      rule: { apiGroups: [""], resources: ["pods"], verbs: ["create", "delete", "get", "list", "watch"] },
      by: "backup controller",
      why: "run and remove the ephemeral backup CAS pods that register this CAS on other SGX nodes",
    },
    {
      rule: { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      by: "backup controller",
      why: "the registration result in a backup CAS pod's log",
    },
  ];
}

/** The backup controller's cluster-wide rights (ClusterRole scone-backup-controller-node-role, bound per CAS). */
export function backupControllerNodeRules(): ExplainedRule[] {
  return [
    {
      rule: { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch", "watch"] },
      by: "backup controller",
      why: "find the SGX nodes with LAS and label them with its registrations (cas-registered-<cas>.<namespace>-<version>)",
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
      by: "webhooks",
      why: "keep caBundle current (list/watch by metadata.name field selector)",
    },
    {
      rule: {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        resourceNames: [validatingWebhookConfigurationName(namespace)],
        verbs: ["get", "list", "patch", "watch"],
      },
      by: "webhooks",
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
      by: "manager",
      why: "leader election Lease",
    },
  ];
}

/**
 * What a server of scone asks the API server about each bearer token it is given (src/kube/access-review.ts;
 * cluster-wide: callers come from anywhere): `scone api --kube-auth` (install --with-api runs the API as the
 * operator's account) and the operator's /metrics with --metrics-secure. Installed only with one of those flags.
 */
export function tokenReviewRules(): ExplainedRule[] {
  const by = "scone api (--kube-auth; the default in a pod), the operator's /metrics (--metrics-secure)";
  return [
    {
      rule: { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      by,
      why: "who presents a bearer token (TokenReview); held by the operator's account, which `--with-api` runs the API as; grants no right, only asks who a token is",
    },
    {
      rule: { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      by,
      why: "whether that caller may do what the API route needs in that namespace, or get the non-resource /metrics (SubjectAccessReview); grants no right, only asks",
    },
  ];
}

/** The operations of the API (POST /api/v1/operations): each kind is its own verb on cas/operations. */
export const API_OPERATION_VERBS = ["provision", "upgrade", "backup", "restore", "evict"] as const;

/** What the API's read routes ask: get and list of every SCONE kind, and of the API's own data under cas/. */
export function apiViewerRules(): ExplainedRule[] {
  const casGroup = resourceDefinitions.CAS.group;
  return [
    ...pluralsByGroup().map(([group, plurals]) => ({
      rule: { apiGroups: [group], resources: plurals, verbs: ["get", "list"] },
      by: "users of scone api",
      why: "GET /api/v1/resources (secret-bearing fields redacted; the same right reads them unredacted from the API server)",
    })),
    {
      rule: {
        apiGroups: [casGroup],
        resources: ["cas/audit", "cas/backups", "cas/history", "cas/operations"],
        verbs: ["get", "list"],
      },
      by: "users of scone api",
      why: "GET /api/v1/audit, /backups, /history, /operations: sub-resources only the API knows (the API server never serves them)",
    },
  ];
}

/** The viewer's rights and every operation: one verb per operation kind, so a Role may grant backup but not restore. */
export function apiOperatorRules(): ExplainedRule[] {
  return [
    ...apiViewerRules(),
    {
      rule: {
        apiGroups: [resourceDefinitions.CAS.group],
        resources: ["cas/operations"],
        verbs: [...API_OPERATION_VERBS],
      },
      by: "users of scone api",
      why: "POST /api/v1/operations: the operation's kind is the verb, the target CAS the name (resourceNames may narrow it); a restore from another namespace's backup needs restore there too",
    },
  ];
}

const rulesOf = (rules: readonly ExplainedRule[]): V1PolicyRule[] => rules.map((r) => structuredClone(r.rule));

/** One role of the install, with its rules explained and where it is bound (what docs/RBAC.md lists). */
export interface RoleDescription {
  readonly kind: "ClusterRole" | "Role";
  readonly name: string;
  readonly subject: string;
  readonly boundWhere: string;
  readonly rules: readonly ExplainedRule[];
}

export interface RbacOptions {
  /** The operator runs outside the cluster (--local-operator): it reaches CAS through port-forward. */
  readonly localOperator?: boolean;
  /** A server reviews bearer tokens (--with-api, --metrics-secure): the token review role is installed and bound. */
  readonly tokenReviews?: boolean;
}

/** Every role of an install in `namespace`, in the order they are applied. */
export function describeRoles(namespace: string, options: RbacOptions = {}): RoleDescription[] {
  const operator = `ServiceAccount ${namespace}/${SERVICE_ACCOUNT_NAME}`;
  return [
    {
      kind: "ClusterRole",
      name: installClusterName(CLUSTER_ROLE_NAME, namespace),
      subject: operator,
      boundWhere: "cluster-wide (ClusterRoleBinding)",
      // The webhook configurations are named after the namespace, so two operators in two namespaces need two roles.
      rules: [
        ...managerRules(),
        ...webhookConfigurationRules(namespace),
        ...(options.localOperator ? localOperatorRules() : []),
      ],
    },
    {
      kind: "ClusterRole",
      name: installClusterName(NAMESPACE_ROLE_NAME, namespace),
      subject: operator,
      boundWhere: `RoleBinding in ${namespace}; add one in each namespace to opt in (see below)`,
      rules: namespaceRules(),
    },
    {
      kind: "ClusterRole",
      name: installClusterName(CAS_DRIVER_ROLE_NAME, namespace),
      subject: operator,
      boundWhere: `RoleBinding in ${namespace}; add one in each namespace whose CAS the operator reaches (see below)`,
      rules: casDriverRules(),
    },
    {
      kind: "Role",
      name: LEADER_ELECTION_ROLE_NAME,
      subject: operator,
      boundWhere: `RoleBinding in ${namespace}`,
      rules: leaderElectionRules(),
    },
    {
      kind: "Role",
      name: STACK_ROLE_NAME,
      subject: operator,
      boundWhere: `RoleBinding in ${namespace}`,
      rules: stackRules(),
    },
    ...(options.tokenReviews
      ? [
          {
            kind: "ClusterRole" as const,
            name: installClusterName(API_REVIEW_ROLE_NAME, namespace),
            subject: operator,
            boundWhere: "cluster-wide (ClusterRoleBinding); installed only with --with-api or --metrics-secure",
            rules: tokenReviewRules(),
          },
        ]
      : []),
    {
      kind: "ClusterRole",
      name: installClusterName(API_OPERATOR_ROLE_NAME, namespace),
      subject: "users and ServiceAccounts of scone api --kube-auth",
      boundWhere:
        "by you: a RoleBinding per namespace (`kubectl create rolebinding … --clusterrole=scone-api-operator`), or a ClusterRoleBinding for every namespace",
      rules: apiOperatorRules(),
    },
    {
      kind: "ClusterRole",
      name: installClusterName(API_VIEWER_ROLE_NAME, namespace),
      subject: "users and ServiceAccounts of scone api --kube-auth",
      boundWhere: "by you, like scone-api-operator",
      rules: apiViewerRules(),
    },
    {
      kind: "ClusterRole",
      name: installClusterName(BACKUP_CONTROLLER_ROLE_NAME, namespace),
      subject: "ServiceAccount NS/CAS-backup-controller of each CAS with backup-controller.enabled",
      boundWhere: "by the operator: RoleBinding CAS-backup-controller-pods in the CAS namespace",
      rules: backupControllerRules(),
    },
    {
      kind: "ClusterRole",
      name: installClusterName(BACKUP_CONTROLLER_NODE_ROLE_NAME, namespace),
      subject: "ServiceAccount NS/CAS-backup-controller of each CAS with backup-controller.enabled",
      boundWhere: "by the operator: ClusterRoleBinding scone-cas-backup-controller-NS.CAS",
      rules: backupControllerNodeRules(),
    },
  ];
}

const RBAC_API = "rbac.authorization.k8s.io/v1";

/** The install's roles and the bindings of the operator's own roles (the backup controllers' are bound per CAS). */
export function renderRbac(namespace: string, labels: Record<string, string>, options: RbacOptions = {}): KubeObject[] {
  const subjects = [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT_NAME, namespace }];
  const meta = (name: string, namespaced: boolean) => ({
    name,
    ...(namespaced ? { namespace } : {}),
    labels: { ...labels },
  });
  const objects: KubeObject[] = [];
  for (const d of describeRoles(namespace, options)) {
    const role: V1ClusterRole | V1Role = {
      apiVersion: RBAC_API,
      kind: d.kind,
      metadata: meta(d.name, d.kind === "Role"),
      rules: rulesOf(d.rules),
    };
    objects.push(role as KubeObject);
  }
  const roleRef = (kind: string, name: string) => ({ apiGroup: "rbac.authorization.k8s.io", kind, name });
  const clusterRoleBindings: V1ClusterRoleBinding[] = [
    [CLUSTER_ROLE_BINDING_NAME, CLUSTER_ROLE_NAME],
    ...(options.tokenReviews ? [[API_REVIEW_ROLE_BINDING_NAME, API_REVIEW_ROLE_NAME]] : []),
  ].map(([binding, role]) => ({
    apiVersion: RBAC_API,
    kind: "ClusterRoleBinding",
    metadata: meta(installClusterName(binding as string, namespace), false),
    roleRef: roleRef("ClusterRole", installClusterName(role as string, namespace)),
    subjects,
  }));
  const roleBindings: V1RoleBinding[] = [
    [NAMESPACE_ROLE_BINDING_NAME, roleRef("ClusterRole", installClusterName(NAMESPACE_ROLE_NAME, namespace))],
    [CAS_DRIVER_ROLE_BINDING_NAME, roleRef("ClusterRole", installClusterName(CAS_DRIVER_ROLE_NAME, namespace))],
    [LEADER_ELECTION_ROLE_BINDING_NAME, roleRef("Role", LEADER_ELECTION_ROLE_NAME)],
    [STACK_ROLE_BINDING_NAME, roleRef("Role", STACK_ROLE_NAME)],
  ].map(([name, ref]) => ({
    apiVersion: RBAC_API,
    kind: "RoleBinding",
    metadata: meta(name as string, true),
    roleRef: ref as V1RoleBinding["roleRef"],
    subjects,
  }));
  return [...objects, ...(clusterRoleBindings as KubeObject[]), ...(roleBindings as KubeObject[])];
}

/** The fix to name when the operator was refused Secrets in `namespace` (it may use them only where granted). */
export function secretsGrantHint(namespace: string, operatorNamespace = DEFAULT_NAMESPACE): string {
  const role = installClusterName(NAMESPACE_ROLE_NAME, operatorNamespace);
  return (
    `the operator may not use Secrets in namespace ${namespace}; grant them there with: kubectl create rolebinding ` +
    `${NAMESPACE_ROLE_BINDING_NAME} -n ${namespace} --clusterrole=${role} ` +
    `--serviceaccount=${operatorNamespace}:${SERVICE_ACCOUNT_NAME}`
  );
}

/** The fix to name when the operator was refused exec into a CAS's sconecli pod in `namespace`. */
export function casDriverGrantHint(namespace: string, operatorNamespace = DEFAULT_NAMESPACE): string {
  const role = installClusterName(CAS_DRIVER_ROLE_NAME, operatorNamespace);
  return (
    `the operator may not exec into the sconecli pods of namespace ${namespace}; grant it there with: kubectl create ` +
    `rolebinding ${CAS_DRIVER_ROLE_BINDING_NAME} -n ${namespace} --clusterrole=${role} ` +
    `--serviceaccount=${operatorNamespace}:${SERVICE_ACCOUNT_NAME}`
  );
}

/** The fix for a 403 on Secrets (the operator may use them only where granted); undefined for any other error. */
export function secretsForbiddenHint(err: unknown, operatorNamespace?: string): string | undefined {
  if (!(err instanceof ForbiddenError)) return undefined;
  const namespace = /\/namespaces\/([^/]+)\/secrets(?:[/?]|$)/.exec(err.path)?.[1];
  return namespace ? secretsGrantHint(namespace, operatorNamespace) : undefined;
}
