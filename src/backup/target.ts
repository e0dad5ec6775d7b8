// The BackupTarget port: a flat key → bytes store rooted at a directory or an S3 prefix. Keys use "/" and are
// relative to the root. Set-level operations (write, read, remove a backup set) are built on top of it here.
import { BackupInputError } from "./errors.ts";
import { joinKey, MANIFEST_FILE, unsafeKeyReason } from "./layout.ts";

export interface BackupTarget {
  /** The root as users write it (directory path or s3://bucket/prefix). Never holds credentials. */
  readonly location: string;
  /** Writes a whole object; a reader sees the old object, none, or the complete new one — never a partial one. */
  put(key: string, data: Uint8Array): Promise<void>;
  /**
   * The object's bytes, or null when it does not exist. Reads at most `limit` bytes (default: the largest snapshot
   * file): a caller passing the size it expects plus one sees a larger object as too long without reading all of it.
   */
  get(key: string, limit?: number): Promise<Uint8Array | null>;
  /**
   * Every key below `prefix` (recursively), relative to the root, sorted. Only plain objects with safe keys
   * (layout.ts unsafeKeyReason): never a symbolic link, nothing reached through one, nothing outside `prefix`.
   */
  list(prefix: string): Promise<string[]>;
  /** Removes an object (a symbolic link itself, never what it points to); absent is fine. */
  delete(key: string): Promise<void>;
  /** The location of a key, for the catalog and messages (same form as `location`). */
  locationOf(key: string): string;
}

/**
 * Removes a backup set: the manifest first, so a set half deleted (crash, network) is never mistaken for a
 * complete backup; then everything else under the set.
 */
export async function removeSet(target: BackupTarget, set: string): Promise<void> {
  // The root of a target holds every set: a removal always names one set.
  if (set === "" || unsafeKeyReason(set) !== undefined) {
    throw new BackupInputError("set", `refusing to remove ${JSON.stringify(set)}: not the key of one backup set`);
  }
  await target.delete(joinKey(set, MANIFEST_FILE));
  for (const key of await target.list(set)) await target.delete(key);
}

/** Reads each named file of a set, at most `limits[name]` bytes of it; null for the absent ones. */
export async function readSetFiles(
  target: BackupTarget,
  set: string,
  limits: Readonly<Record<string, number>>,
): Promise<Record<string, Uint8Array | null>> {
  const out: Record<string, Uint8Array | null> = {};
  for (const [name, limit] of Object.entries(limits)) out[name] = await target.get(joinKey(set, name), limit);
  return out;
}
