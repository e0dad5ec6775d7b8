// Where the files of a backup set live: <root>/<namespace>/<cas-name>/<backup-id>/{cas.db,cas.key-store,backup.json}.
// backup.json (the manifest) is written last, so a set without it is an incomplete upload, never a backup.
import { BackupInputError } from "./errors.ts";

/** The CAS database file, as in /var/mnt/cas-database-snapshots/last-completed. */
export const CAS_DB_FILE = "cas.db";
/** The CAS key store (holds the database key, sealed), same directory. */
export const CAS_KEY_STORE_FILE = "cas.key-store";
/** The files a backup set must hold besides its manifest; a restore needs both. */
export const SNAPSHOT_FILES = [CAS_DB_FILE, CAS_KEY_STORE_FILE] as const;
export type SnapshotFile = (typeof SNAPSHOT_FILES)[number];
export const MANIFEST_FILE = "backup.json";
/** Largest backup.json read (a real one is under 1 KiB): a bigger object is refused unread. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** Largest snapshot file a manifest may record (a CAS database is a few MiB; files are held in memory). */
export const MAX_SNAPSHOT_FILE_BYTES = 1024 * 1024 * 1024;

/** Where the CAS writes its snapshots (pod path); `last-completed` names the newest complete one. */
export const POD_SNAPSHOT_DIR = "/var/mnt/cas-database-snapshots";
export const LAST_COMPLETED = "last-completed";

/**
 * Top-level key of the shipped CAS audit logs in a backup target (flows/audit/archive/layout.ts). Not a DNS label
 * ("_"), so no namespace of backup sets can be named so; the backup listing skips it.
 */
export const AUDIT_ARCHIVE_ROOT = "_audit";

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

/** Longest object key S3 accepts (bytes); also the bound for directory targets. */
const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
// Control characters and the backslash: no scone key holds them, and some tools read them as separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const BAD_CHARS = /[\u0000-\u001f\u007f\\]/;

/**
 * Why a key (relative to a target's root) is unsafe, or undefined when it is safe: "/"-separated non-empty
 * segments, none "." or ".." (S3 clients and servers resolve those like paths, so `set/../../x` would name an
 * object outside the set), no control characters or backslashes, at most 1024 bytes. "" is the root itself.
 */
export function unsafeKeyReason(key: string): string | undefined {
  if (key === "") return undefined;
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  if (BAD_CHARS.test(key)) return "holds a control character or a backslash";
  for (const segment of key.split("/")) {
    if (segment === "") return 'has an empty segment (a leading, trailing or doubled "/")';
    if (segment === "." || segment === "..") return 'has a "." or ".." segment';
    if (new TextEncoder().encode(segment).length > MAX_SEGMENT_BYTES) {
      return `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
    }
  }
  return undefined;
}

/** Throws BackupInputError (field "key") for an unsafe key; returns it unchanged otherwise. */
export function checkKey(key: string): string {
  const reason = unsafeKeyReason(key);
  if (reason !== undefined) {
    throw new BackupInputError("key", `backup object key ${JSON.stringify(key.slice(0, 200))} ${reason}; refused`);
  }
  return key;
}

/** Joins key parts with "/", ignoring empty ones (the root of a set opened directly is ""). */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split("/"))
    .filter((p) => p !== "")
    .join("/");
}
