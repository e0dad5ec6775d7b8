// The BackupTarget port: a flat key → bytes store rooted at a directory or an S3 prefix. Keys use "/" and are
// relative to the root. Set-level operations (write, read, remove a backup set) are built on top of it here.
import { joinKey, MANIFEST_FILE } from "./layout.ts";

export interface BackupTarget {
  /** The root as users write it (directory path or s3://bucket/prefix). Never holds credentials. */
  readonly location: string;
  /** Writes a whole object; a reader sees the old object, none, or the complete new one — never a partial one. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  /** Every key below `prefix` (recursively), relative to the root, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; absent is fine. */
  delete(key: string): Promise<void>;
  /** The location of a key, for the catalog and messages (same form as `location`). */
  locationOf(key: string): string;
}

/**
 * Removes a backup set: the manifest first, so a set half deleted (crash, network) is never mistaken for a
 * complete backup; then everything else under the set.
 */
export async function removeSet(target: BackupTarget, set: string): Promise<void> {
  await target.delete(joinKey(set, MANIFEST_FILE));
  for (const key of await target.list(set)) await target.delete(key);
}

/** Reads each named file of a set; null for the absent ones. */
export async function readSetFiles(
  target: BackupTarget,
  set: string,
  names: readonly string[],
): Promise<Record<string, Uint8Array | null>> {
  const out: Record<string, Uint8Array | null> = {};
  for (const name of names) out[name] = await target.get(joinKey(set, name));
  return out;
}
