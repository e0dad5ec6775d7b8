// Restore sources: a catalog id ("bk-…"), a directory, or an s3:// URL of one backup set. The set is fetched into
// a private temp directory and verified there — the bytes a restore will use — before anything is created.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackupRecord } from "../store/backups.ts";
import { BackupVerificationError } from "./errors.ts";
import { MANIFEST_FILE, SNAPSHOT_FILES } from "./layout.ts";
import type { BackupManifest } from "./manifest.ts";
import { openSetAt } from "./open-target.ts";
import { type LocateOptions, locateBackup } from "./source.ts";
import { checkBackupSet, readBackupSet } from "./verify.ts";

export interface RestoreSource {
  /** Where the set was read from (directory or s3:// URL). */
  location: string;
  /** Private directory (0700) holding the verified files (0600): cas.db, cas.key-store, backup.json. */
  dir: string;
  manifest: BackupManifest;
  /** The catalog row, when the source was given as a catalog id. */
  record?: BackupRecord;
  /** Removes `dir`. */
  cleanup(): Promise<void>;
}

export interface ResolveRestoreOptions extends LocateOptions {
  /** Parent of the temp directory (default: the OS temp dir). */
  tempDir?: string;
}

/**
 * Fetches and verifies a backup set. Throws BackupVerificationError (with every problem) for an incomplete or
 * corrupted set, BackupInputError for a source that does not exist; on any error the temp directory is removed.
 */
export async function resolveRestoreSource(spec: string, options: ResolveRestoreOptions = {}): Promise<RestoreSource> {
  const { location, record, expected } = await locateBackup(spec, options);
  const handle = openSetAt(location, { field: "--from", ...options });
  const where = handle.target.locationOf(handle.set);
  const contents = await readBackupSet(handle);
  // A fresh private directory (mkdtemp: 0700, unpredictable name); the only place anything is written before the
  // set verifies, and only under the known file names — never a name the manifest brings.
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), "scone-restore-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const names = SNAPSHOT_FILES;
    for (const name of names) {
      const bytes = contents.files[name];
      if (bytes) await writeFile(join(dir, name), bytes, { mode: 0o600, flag: "wx" });
    }
    if (contents.manifestText !== null) {
      await writeFile(join(dir, MANIFEST_FILE), contents.manifestText, { mode: 0o600, flag: "wx" });
    }
    // Verify what landed on disk, not what was received: those are the bytes the restore will use.
    const onDisk: Record<string, Uint8Array | null> = {};
    for (const name of names) {
      onDisk[name] = contents.files[name] ? new Uint8Array(await readFile(join(dir, name))) : null;
    }
    const { problems, manifest } = checkBackupSet({ manifestText: contents.manifestText, files: onDisk }, expected);
    if (problems.length > 0 || !manifest) throw new BackupVerificationError(where, problems);
    return { location: where, dir, manifest, ...(record ? { record } : {}), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
