// What a CAS pod looks like to the simulated kubelet, stated here from the reference rather than taken from the
// operator (SCONE-INTERFACE.md §3.3 "CAS objects", §3.1 CAS spec defaults, §12 availability config):
export const APP_NAME_LABEL = "app.kubernetes.io/name";
/** The pod's CAS instance name (selector `app.kubernetes.io/name=cas,app.kubernetes.io/instance=NAME`, §3.3). */
export const INSTANCE_LABEL = "app.kubernetes.io/instance";
export const CAS_APP = "cas";
/** Containers of the CAS pod (§3.3: `cas`, and `audit`, whose log streams the audit log). */
export const CAS_CONTAINER = "cas";
export const AUDIT_CONTAINER = "audit";
/** `service.clientPort` / `service.enclavePort` defaults (§3.1). */
export const DEFAULT_CLIENT_PORT = 8081;
export const DEFAULT_ENCLAVE_PORT = 18765;
/** Volumes behind the database and snapshot mounts (PVCs `database-NAME-0`, `database-snapshots-NAME-0`, §3.3). */
export const DATABASE_VOLUME = "database";
export const SNAPSHOTS_VOLUME = "database-snapshots";
/** Default mount paths (§3.1 `persistence.mountPath`, `databaseSnapshots.targetDirectory`; §3.3 mounts). */
export const DEFAULT_DATABASE_DIR = "/etc/cas/db";
export const DEFAULT_SNAPSHOT_DIR = "/var/mnt/cas-database-snapshots";
export const DEFAULT_AUDIT_DIR = "/var/log/cas/audit";
