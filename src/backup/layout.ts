// Where the files of a backup set live: <root>/<namespace>/<cas-name>/<backup-id>/{cas.db,cas.key-store,backup.json}.
// backup.json (the manifest) is written last, so a set without it is an incomplete upload, never a backup.

/** The CAS database file, as in /var/mnt/cas-database-snapshots/last-completed. */
export const CAS_DB_FILE = "cas.db";
/** The CAS key store (holds the database key, sealed), same directory. */
export const CAS_KEY_STORE_FILE = "cas.key-store";
/** The files a backup set must hold besides its manifest; a restore needs both. */
export const SNAPSHOT_FILES = [CAS_DB_FILE, CAS_KEY_STORE_FILE] as const;
export type SnapshotFile = (typeof SNAPSHOT_FILES)[number];
export const MANIFEST_FILE = "backup.json";

/** Where the CAS writes its snapshots (pod path); `last-completed` names the newest complete one. */
export const POD_SNAPSHOT_DIR = "/var/mnt/cas-database-snapshots";
export const LAST_COMPLETED = "last-completed";

/** Kubernetes names (DNS-1123 labels) and catalog ids ("bk-20261123t103700z-k3f9a"): no "/" or "..". */
const SEGMENT = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export interface BackupSetRef {
  namespace: string;
  name: string;
  id: string;
}

/** Key of a backup set below a target's root. */
export function setKey(set: BackupSetRef): string {
  for (const [field, value] of Object.entries(set)) {
    if (!SEGMENT.test(value) || value.includes("..")) {
      throw new Error(`backup ${field} "${value}" is not a valid path segment (lower-case letters, digits, "-", ".")`);
    }
  }
  return `${set.namespace}/${set.name}/${set.id}`;
}

/** Joins key parts with "/", ignoring empty ones (the root of a set opened directly is ""). */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split("/"))
    .filter((p) => p !== "")
    .join("/");
}
