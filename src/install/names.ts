// Names of the operator's objects, as upstream's chart named them (SCONE-INTERFACE §1), so an upstream install
// is found and replaced in place and upstream tooling (operator_controller waits, ServiceMonitors) keeps working.

export const DEFAULT_NAMESPACE = "scone-system";
export const DEPLOYMENT_NAME = "scone-controller-manager";
export const SERVICE_ACCOUNT_NAME = "scone-controller-manager";
export const CLUSTER_ROLE_NAME = "scone-manager-role";
export const CLUSTER_ROLE_BINDING_NAME = "scone-manager-rolebinding";
/** ClusterRole of the operator's rights inside a namespace (Secrets): bound by RoleBindings, never cluster-wide. */
export const NAMESPACE_ROLE_NAME = "scone-manager-namespace-role";
/** RoleBinding of NAMESPACE_ROLE_NAME in the operator's namespace (installed); tenants add one to opt a namespace in. */
export const NAMESPACE_ROLE_BINDING_NAME = "scone-manager-namespace-rolebinding";
/**
 * ClusterRole of pods/exec into the sconecli pods of CASes (src/cas/driver): bound by RoleBindings only — in the
 * operator's namespace at install, and in each namespace whose CAS the operator reaches (opt-in, like Secrets).
 */
export const CAS_DRIVER_ROLE_NAME = "scone-manager-cas-driver-role";
export const CAS_DRIVER_ROLE_BINDING_NAME = "scone-manager-cas-driver-rolebinding";
/** Role (operator namespace only): pods/exec into the Scone stack's CAS for its scheduled backups. */
export const STACK_ROLE_NAME = "scone-manager-stack-role";
export const STACK_ROLE_BINDING_NAME = "scone-manager-stack-rolebinding";
/** The backup controllers' static ClusterRoles (installed; the operator only binds them, per CAS). */
export const BACKUP_CONTROLLER_ROLE_NAME = "scone-backup-controller-role";
export const BACKUP_CONTROLLER_NODE_ROLE_NAME = "scone-backup-controller-node-role";
/** ClusterRole of `scone api --kube-auth`: TokenReview and SubjectAccessReview (bound to the operator's account). */
export const API_REVIEW_ROLE_NAME = "scone-api-review-role";
export const API_REVIEW_ROLE_BINDING_NAME = "scone-api-review-rolebinding";
/** ClusterRoles for the API's users, bound by the cluster's admins (RoleBinding per namespace, or cluster-wide). */
export const API_OPERATOR_ROLE_NAME = "scone-api-operator";
export const API_VIEWER_ROLE_NAME = "scone-api-viewer";
export const LEADER_ELECTION_ROLE_NAME = "scone-leader-election-role";
export const LEADER_ELECTION_ROLE_BINDING_NAME = "scone-leader-election-rolebinding";
export const WEBHOOK_SERVICE_NAME = "scone-webhook-service";
export const METRICS_SERVICE_NAME = "scone-controller-manager-metrics-service";
export const OPERATOR_PULL_SECRET = "scone-operator-pull";
export const CONTAINER_NAME = "manager";

/** `--with-api`: the REST API's Deployment, container and Service (HTTPS, port 443 → API_PORT). */
export const API_DEPLOYMENT_NAME = "scone-api";
export const API_CONTAINER_NAME = "api";
export const API_SERVICE_NAME = "scone-api";
export const API_PORT = 8443;

export const WEBHOOK_PORT = 9443;
export const METRICS_PORT = 8080;
export const PROBE_PORT = 8081;

/** Labels of the operator pod (upstream): ServiceMonitors select control-plane=controller-manager. */
export const OPERATOR_POD_LABELS = {
  app: "scone-controller",
  "app.kubernetes.io/name": "scone-controller",
  "control-plane": "controller-manager",
} as const;

/** Namespaces whose pods receive the pull secrets (upstream's image-pull-secret operator reads these). */
export const INJECT_PULL_SECRET_ANNOTATIONS = {
  "scone-operator/inject-pull-secret": "true",
  "sconeapps/inject-pull-secret": "true",
} as const;

/**
 * A cluster-scoped name of the install in `namespace`: the default namespace keeps upstream's name, others add
 * "-NAMESPACE". No base is another base followed by "-", so two installs never share a name.
 */
export const installClusterName = (base: string, namespace: string): string =>
  namespace === DEFAULT_NAMESPACE ? base : `${base}-${namespace}`;

/** One webhook configuration per operator namespace, so two operators in two namespaces do not collide. */
export const mutatingWebhookConfigurationName = (namespace: string): string =>
  `scone-mutating-webhook-configuration-${namespace}`;
export const validatingWebhookConfigurationName = (namespace: string): string =>
  `scone-validating-webhook-configuration-${namespace}`;
