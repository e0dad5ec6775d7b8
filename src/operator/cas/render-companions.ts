// The companions of a CAS (pure; golden-tested): the backup controller, which registers backup CAS instances on the
// other SGX nodes so that CAS can move when its node fails (§3.1, §12.5), with the permissions it needs; and the
// safety service with its PodDisruptionBudget, which keeps enough registered nodes from being drained at once.
import type {
  V1ClusterRoleBinding,
  V1Deployment,
  V1EnvVar,
  V1PodDisruptionBudget,
  V1PodSecurityContext,
  V1RoleBinding,
  V1SecurityContext,
  V1ServiceAccount,
  V1Toleration,
} from "@kubernetes/client-node";
import {
  BACKUP_CONTROLLER_NODE_ROLE_NAME,
  BACKUP_CONTROLLER_ROLE_NAME,
  installClusterName,
} from "../../install/names.ts";
import type { CAS } from "../../resources/cas.ts";
import { SGX_ENCLAVE_RESOURCE } from "../../resources/defaults.ts";
import { APP_INSTANCE_LABEL, APP_NAME_LABEL } from "../kit/labels.ts";
import { compact } from "../kit/render.ts";
import {
  APP_COMPONENT_LABEL,
  BACKUP_CONTROLLER_APP,
  BACKUP_CONTROLLER_CONTAINER,
  backupControllerClusterBindingName,
  MIGRATION_NODE_LABELS,
  names,
  SAFETY_SERVICE_APP,
  SAFETY_SERVICE_CONTAINER,
} from "./names.ts";
import { type CasRenderPlan, desiredPlan } from "./render.ts";
import { casSettings, type RenderOptions } from "./settings.ts";

const DEFAULT_POD_SECURITY: V1PodSecurityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
const DEFAULT_CONTAINER_SECURITY: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};
export const CONTROLLER_LOOP_INTERVAL_SECONDS = 60;

const companionLabels = (app: string, name: string, component: string) => ({
  [APP_NAME_LABEL]: app,
  [APP_INSTANCE_LABEL]: name,
  [APP_COMPONENT_LABEL]: component,
  "app.kubernetes.io/part-of": "scone",
});

/** User env wins over the defaults of the same name; defaults keep their order. */
function mergeEnv(defaults: readonly V1EnvVar[], user: readonly V1EnvVar[] | undefined): V1EnvVar[] {
  const own = new Map((user ?? []).map((e) => [e.name, e]));
  const merged = defaults.map((e) => own.get(e.name) ?? e);
  const seen = new Set(defaults.map((e) => e.name));
  return [...merged, ...(user ?? []).filter((e) => !seen.has(e.name))];
}

/**
 * The backup controller's environment: upstream's defaults (SCONE-INTERFACE §3.1) and the variables of §12.5 [V:
 * cas-backup-controller], nothing else. How upstream's operator hands the controller spec.backup-controller.session
 * and .debug is not public (§14): scone renders no variable for them rather than guess one (sim/README.md, row
 * backup-controller-env); the session is the one the upgrade flow updates (src/flows/upgrade).
 */
export function backupControllerEnv(cas: CAS, opts: RenderOptions): V1EnvVar[] {
  const s = casSettings(cas, opts);
  const bc = s.spec["backup-controller"];
  const defaults: V1EnvVar[] = [
    { name: "LAS_SELECTOR_LABEL", value: "app.kubernetes.io/name=las" },
    { name: "LAS_NAMESPACE", value: opts.operatorNamespace },
    // The target image, also while CAS still runs the old one: an upgrade first registers CAS instances of the new
    // version (§10.4 step c), and only then may CAS itself move to it.
    { name: "BACKUP_CAS_IMAGE", value: s.image },
    { name: "SCONE_LAS_ADDR", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
    { name: "BACKUP_CAS_CLIENT_PORT", value: String(s.clientPort) },
    { name: "BACKUP_CAS_ENCLAVE_PORT", value: String(s.enclavePort) },
    { name: "SELECTOR_LABELS", value: JSON.stringify(MIGRATION_NODE_LABELS) },
    { name: "CONTROLLER_LOOP_INTERVAL_SECONDS", value: String(CONTROLLER_LOOP_INTERVAL_SECONDS) },
    { name: "BACKUP_CAS_NAME", value: s.name },
    { name: "NAMESPACE", value: s.namespace },
    { name: "SGX_RESOURCE_NAME", value: SGX_ENCLAVE_RESOURCE },
    { name: "SGX_RESOURCE_QUANTITY", value: "1" },
  ];
  return mergeEnv(defaults, bc?.env as V1EnvVar[] | undefined);
}

export function renderBackupControllerDeployment(cas: CAS, opts: RenderOptions, plan?: CasRenderPlan): V1Deployment {
  const s = casSettings(cas, opts);
  const p = plan ?? desiredPlan(s);
  const bc = s.spec["backup-controller"] ?? {};
  const n = names(s.name);
  const labels = companionLabels(BACKUP_CONTROLLER_APP, s.name, "backup-controller");
  const selector = { [APP_NAME_LABEL]: BACKUP_CONTROLLER_APP, [APP_INSTANCE_LABEL]: s.name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: n.backupController, namespace: s.namespace, labels },
    spec: {
      replicas: 1,
      // Two controllers would register the same backups twice: the old one goes before the new one starts.
      strategy: { type: "Recreate" },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: n.backupController,
          ...compact({
            tolerations: (bc.tolerations ?? s.spec.tolerations) as V1Toleration[] | undefined,
            imagePullSecrets: bc.imagePullSecrets ?? s.spec.imagePullSecrets,
          }),
          securityContext: (bc.podSecurityContext as V1PodSecurityContext | undefined) ?? DEFAULT_POD_SECURITY,
          containers: [
            {
              name: BACKUP_CONTROLLER_CONTAINER,
              image: p.backupControllerImage,
              imagePullPolicy: bc.imagePullPolicy ?? "Always",
              env: backupControllerEnv(cas, opts),
              securityContext:
                (bc.containerSecurityContext as V1SecurityContext | undefined) ?? DEFAULT_CONTAINER_SECURITY,
            },
          ],
        },
      },
    },
  };
}

/** Label on the backup controller's ClusterRoleBinding: which namespace its CAS is in (the name is not parsed). */
export const CAS_NAMESPACE_LABEL = "scone.cloud/cas-namespace";

/**
 * The backup controller's identity and permissions: in its namespace it runs and removes the ephemeral backup CAS
 * pods and reads their logs; cluster-wide it reads nodes and labels them with its registrations (nodes.ts). The
 * rules live in two ClusterRoles the install ships (src/install/rbac.ts); the operator only binds them, so it needs
 * no right to create roles. The ClusterRoleBinding cannot be owned by a namespaced CAS: the finalizer deletes it.
 */
export function renderBackupControllerRbac(cas: CAS, opts: RenderOptions) {
  const s = casSettings(cas, opts);
  const n = names(s.name);
  const labels = companionLabels(BACKUP_CONTROLLER_APP, s.name, "backup-controller");
  const subject = { kind: "ServiceAccount", name: n.backupController, namespace: s.namespace };
  const serviceAccount: V1ServiceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: n.backupController, namespace: s.namespace, labels },
  };
  const roleBinding: V1RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: n.backupControllerPods, namespace: s.namespace, labels },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: installClusterName(BACKUP_CONTROLLER_ROLE_NAME, opts.operatorNamespace),
    },
    subjects: [subject],
  };
  const clusterRoleBinding: V1ClusterRoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: {
      name: backupControllerClusterBindingName(s.namespace, s.name),
      labels: { ...labels, [CAS_NAMESPACE_LABEL]: s.namespace },
    },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: installClusterName(BACKUP_CONTROLLER_NODE_ROLE_NAME, opts.operatorNamespace),
    },
    subjects: [subject],
  };
  return { namespaced: [serviceAccount, roleBinding], cluster: [clusterRoleBinding] };
}

/** Spread over `podAntiAffinityTopologyKey` (one replica per node by default), sized by desiredReplicas. */
export function renderSafetyServiceDeployment(cas: CAS, opts: RenderOptions, plan?: CasRenderPlan): V1Deployment {
  const s = casSettings(cas, opts);
  const p = plan ?? desiredPlan(s);
  const ss = s.spec.safetyService;
  const labels = companionLabels(SAFETY_SERVICE_APP, s.name, "safety-service");
  const selector = { [APP_NAME_LABEL]: SAFETY_SERVICE_APP, [APP_INSTANCE_LABEL]: s.name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: names(s.name).safetyService, namespace: s.namespace, labels },
    spec: {
      replicas: s.safetyService.desiredReplicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: selector }, topologyKey: s.safetyService.topologyKey },
              ],
            },
          },
          ...compact({
            tolerations: ss?.tolerations as V1Toleration[] | undefined,
            imagePullSecrets: s.spec.imagePullSecrets,
          }),
          securityContext: (ss?.podSecurityContext as V1PodSecurityContext | undefined) ?? {
            ...DEFAULT_POD_SECURITY,
            runAsUser: 1000,
          },
          containers: [
            {
              name: SAFETY_SERVICE_CONTAINER,
              image: p.safetyServiceImage,
              imagePullPolicy: s.imagePullPolicy,
              // No environment: the safety service's configuration is not public (SCONE-INTERFACE §14), so scone
              // invents none (sim/README.md, row safety-service-env).
              securityContext:
                (ss?.containerSecurityContext as V1SecurityContext | undefined) ?? DEFAULT_CONTAINER_SECURITY,
            },
          ],
        },
      },
    },
  };
}

export function renderSafetyServicePodDisruptionBudget(cas: CAS, opts: RenderOptions): V1PodDisruptionBudget {
  const s = casSettings(cas, opts);
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: names(s.name).safetyService,
      namespace: s.namespace,
      labels: companionLabels(SAFETY_SERVICE_APP, s.name, "safety-service"),
    },
    spec: {
      minAvailable: s.safetyService.minReplicas,
      selector: { matchLabels: { [APP_NAME_LABEL]: SAFETY_SERVICE_APP, [APP_INSTANCE_LABEL]: s.name } },
    },
  };
}
