// Names, labels and well-known values of the objects a CAS named NAME owns (SCONE-INTERFACE §3.3, §13).
// Upstream names only the pod (NAME-0), its PVC (database-NAME-0) and the selectors; the other object names are
// ours [inferred], chosen so `kubectl get all -l app.kubernetes.io/instance=NAME` shows one CAS's pieces:
//   StatefulSet NAME · Service NAME · PodDisruptionBudget NAME · NetworkPolicy NAME · ConfigMap NAME-config
//   Deployment NAME-backup-controller (+ ServiceAccount of that name, RoleBinding NAME-backup-controller-pods and
//   ClusterRoleBinding scone-cas-backup-controller-NS.NAME, binding the installed ClusterRoles) · Deployment and
//   PodDisruptionBudget NAME-safety-service
//   PVCs database-NAME-0 and database-snapshots-NAME-0 (made by the StatefulSet controller; kept on deletion).
import type { TypeRef } from "../../kube/types.ts";
import { casDefinition } from "../../resources/cas.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { APP_INSTANCE_LABEL, APP_NAME_LABEL } from "../kit/labels.ts";

export const CAS_TYPE: TypeRef = { apiVersion: apiVersionOf(casDefinition), kind: "CAS" };
export const CAS_FINALIZER = "services.scone.cloud/finalizer";

// The one definition lives in the kit; src/cas/driver reads them from here.
export { APP_INSTANCE_LABEL, APP_NAME_LABEL };
export const APP_COMPONENT_LABEL = "app.kubernetes.io/component";
export const CAS_APP = "cas";
/** Upstream's backup-controller pod label (older releases: backup-controller). */
export const BACKUP_CONTROLLER_APP = "bc";
export const SAFETY_SERVICE_APP = "cas-safety-service";

export const CAS_CONTAINER = "cas";
export const AUDIT_CONTAINER = "audit";
export const BACKUP_CONTROLLER_CONTAINER = "backup-controller";
export const SAFETY_SERVICE_CONTAINER = "safety-service";

export const DEFAULT_ENCLAVE_PORT = 18765;
export const DATABASE_VOLUME = "database";
export const SNAPSHOTS_VOLUME = "database-snapshots";
export const AUDIT_LOG_DIR = "/var/log/cas/audit";
export const AUDIT_LOG_FILE = `${AUDIT_LOG_DIR}/cas_audit.log`;
export const DEFAULT_DATABASE_DIR = "/etc/cas/db";
export const DEFAULT_SNAPSHOT_DIR = "/var/mnt/cas-database-snapshots";

/** Annotation on the CAS: roll out a new image even when migration is not complete (upgrade without a backup). */
export const FORCE_UPGRADE_ANNOTATION = "cas.scone.cloud/force-upgrade";

/** The node labels a node needs before the backup controller (and a moving CAS) may use it (§3.1 SELECTOR_LABELS). */
export const MIGRATION_NODE_LABELS: Readonly<Record<string, string>> = {
  "las.scontain.com/capable": "true",
  "las.scontain.com/ok": "true",
  "sgx.intel.com/capable": "true",
};
export const ZONE_LABEL = "topology.kubernetes.io/zone";
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

export const casSelector = (name: string): Record<string, string> => ({
  [APP_NAME_LABEL]: CAS_APP,
  [APP_INSTANCE_LABEL]: name,
});

export const names = (name: string) => ({
  statefulSet: name,
  pod: `${name}-0`,
  service: name,
  podDisruptionBudget: name,
  networkPolicy: name,
  configMap: `${name}-config`,
  databasePvc: `${DATABASE_VOLUME}-${name}-0`,
  snapshotsPvc: `${SNAPSHOTS_VOLUME}-${name}-0`,
  backupController: `${name}-backup-controller`,
  backupControllerPods: `${name}-backup-controller-pods`,
  safetyService: `${name}-safety-service`,
});

/**
 * The backup controller's ClusterRoleBinding. Cluster-scoped, so it names the namespace too, separated by ".": a
 * namespace (a DNS label) never contains one, so NS.NAME is unambiguous where NS-NAME was not (team-a/prod and
 * team/a-prod both gave team-a-prod).
 */
export const backupControllerClusterBindingName = (namespace: string, name: string): string =>
  `scone-cas-backup-controller-${namespace}.${name}`;
