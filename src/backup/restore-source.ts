// Restore sources: a catalog id ("bk-…"), a directory, or an s3:// URL of one backup set. The set is fetched into
// a private temp directory and verified there — the bytes a restore will use — before anything is created.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BackupRecord, getBackup } from "../store/backups.ts";
import type { StoreDb } from "../store/open.ts";
import { BackupInputError, BackupVerificationError } from "./errors.ts";
import { MANIFEST_FILE } from "./layout.ts";
import { isS3Location } from "./location.ts";
import type { BackupManifest } from "./manifest.ts";
import { type OpenTargetOptions, openSetAt } from "./open-target.ts";
import { checkBackupSet, type ExpectedBackup, readBackupSet } from "./verify.ts";

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

export interface ResolveRestoreOptions extends OpenTargetOptions {
  /** Needed to resolve catalog ids. */
  store?: { db: StoreDb };
  /** Parent of the temp directory (default: the OS temp dir). */
  tempDir?: string;
  /** The set must belong to this CAS (when given). */
  expected?: Pick<ExpectedBackup, "namespace" | "name">;
}

const CATALOG_ID = /^bk-[0-9a-z]+-[0-9a-z]+$/;

async function locate(
  spec: string,
  options: ResolveRestoreOptions,
): Promise<{ location: string; record?: BackupRecord; expected: ExpectedBackup }> {
  const value = spec.trim();
  if (value === "") throw new BackupInputError("--from", "--from is empty: give a backup id, a directory or s3:// URL");
  if (CATALOG_ID.test(value)) {
    if (!options.store) throw new BackupInputError("--from", `${value} looks like a backup id, but no catalog is open`);
    const record = getBackup(options.store.db, value);
    if (!record) {
      throw new BackupInputError("--from", `no backup ${value} in the catalog; list them with "scone cas backups"`);
    }
    if (record.phase !== "completed") {
      const why = record.error ? `: ${record.error}` : "";
      throw new BackupInputError("--from", `backup ${value} is ${record.phase}${why}; only completed backups restore`);
    }
    const expected = { ...options.expected, id: record.id, namespace: record.namespace, name: record.name };
    return { location: record.target, record, expected: { ...expected, files: record.files } };
  }
  if (!isS3Location(value)) {
    const isDir = await stat(value).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) {
      throw new BackupInputError("--from", `${value} is neither a backup id, an s3:// URL nor an existing directory`);
    }
  }
  return { location: value, expected: { ...options.expected } };
}

/**
 * Fetches and verifies a backup set. Throws BackupVerificationError (with every problem) for an incomplete or
 * corrupted set, BackupInputError for a source that does not exist; on any error the temp directory is removed.
 */
export async function resolveRestoreSource(spec: string, options: ResolveRestoreOptions = {}): Promise<RestoreSource> {
  const { location, record, expected } = await locate(spec, options);
  const handle = openSetAt(location, { field: "--from", ...options });
  const where = handle.target.locationOf(handle.set);
  const contents = await readBackupSet(handle);
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), "scone-restore-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const names = Object.keys(contents.files);
    for (const name of names) {
      const bytes = contents.files[name];
      if (bytes) await writeFile(join(dir, name), bytes, { mode: 0o600 });
    }
    if (contents.manifestText !== null)
      await writeFile(join(dir, MANIFEST_FILE), contents.manifestText, { mode: 0o600 });
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
