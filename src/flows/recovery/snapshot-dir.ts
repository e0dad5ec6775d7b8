// `kubectl provision cas NAME --cas-database-recovery DIR` (SCONE-INTERFACE §10.1, §10.2 step 13): DIR is a raw
// snapshot directory — what upstream's --local-backup leaves, `cas.db` and `cas.key-store`, no manifest — or a backup
// set scone wrote (it holds backup.json as well). Either becomes the RestoreSource the restore flow takes, so the
// recovery is `scone cas restore`'s flow (create with cas-recovery, place the files as last-snapshot-db /
// last-snapshot-cas.key-store, `bash restart-cas`, wait, image back to cas) and not a second one.
// Only the two known names are ever read, never through a symbolic link (LocalDirectoryTarget opens with
// O_NOFOLLOW and refuses what is not a regular file); the path is checked before anything touches the disk.
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupInputError, BackupVerificationError } from "../../backup/errors.ts";
import { MANIFEST_FILE, MAX_SNAPSHOT_FILE_BYTES, SNAPSHOT_FILES } from "../../backup/layout.ts";
import { LocalDirectoryTarget } from "../../backup/local-target.ts";
import { parseBackupLocation } from "../../backup/location.ts";
import { type BackupManifest, describeFiles, MANIFEST_FORMAT, serializeManifest } from "../../backup/manifest.ts";
import { type RestoreSource, resolveRestoreSource } from "../../backup/restore-source.ts";
import { checkBackupSet } from "../../backup/verify.ts";
import { SCONE_VERSION } from "../../version.ts";

export const RECOVERY_FLAG = "--cas-database-recovery";

/**
 * The id of a raw snapshot: derived from its key store, so a rerun of the same recovery finds the CAS it created
 * (the restore flow's annotation) and continues instead of refusing the name.
 */
export function snapshotId(keyStore: Uint8Array): string {
  return `snapshot-${createHash("sha256").update(keyStore).digest("hex").slice(0, 16)}`;
}

/** Pure: what is wrong with the two files of a raw snapshot directory (empty list: usable). */
export function snapshotProblems(dir: string, files: Record<string, Uint8Array | null>): string[] {
  const problems: string[] = [];
  for (const name of SNAPSHOT_FILES) {
    const bytes = files[name];
    if (!bytes) problems.push(`${join(dir, name)} is missing (a snapshot directory holds cas.db and cas.key-store)`);
    else if (bytes.byteLength === 0) problems.push(`${join(dir, name)} is empty`);
    else if (bytes.byteLength > MAX_SNAPSHOT_FILE_BYTES)
      problems.push(`${join(dir, name)} is larger than ${MAX_SNAPSHOT_FILE_BYTES} bytes`);
  }
  return problems;
}

/** Pure: the manifest a raw snapshot would have had, so the restore flow checks the placed files against it. */
export function snapshotManifest(
  files: Record<(typeof SNAPSHOT_FILES)[number], Uint8Array>,
  now: Date,
): BackupManifest {
  return {
    format: MANIFEST_FORMAT,
    id: snapshotId(files["cas.key-store"]),
    // A raw snapshot does not say which CAS it came from, nor its version (--set-version picks the image).
    cas: { namespace: "unknown", name: "unknown", version: null },
    snapshot: { marker: null, timestamp: null },
    created: now.toISOString(),
    scone: { version: SCONE_VERSION },
    files: describeFiles(files),
  };
}

/**
 * The snapshot directory `text` as a verified RestoreSource. Throws BackupInputError for a path that is not a
 * directory (or is a symbolic link), BackupVerificationError listing every problem of its files.
 */
export async function snapshotDirSource(text: string, options: { tempDir?: string } = {}): Promise<RestoreSource> {
  const location = parseBackupLocation(text, RECOVERY_FLAG);
  if (location.kind !== "directory") {
    throw new BackupInputError(RECOVERY_FLAG, `${RECOVERY_FLAG} takes a local snapshot directory, not ${text}`);
  }
  const dir = location.path;
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    const what = info?.isSymbolicLink() ? "is a symbolic link: give the directory itself" : "is not a directory";
    throw new BackupInputError(RECOVERY_FLAG, `${RECOVERY_FLAG} ${dir} ${what}`);
  }
  const target = new LocalDirectoryTarget(dir);
  // A set scone wrote (scone cas backup, --local-backup): verified against its own manifest.
  if ((await target.get(MANIFEST_FILE, 1)) !== null) return resolveRestoreSource(dir, options);

  const found: Record<string, Uint8Array | null> = {};
  for (const name of SNAPSHOT_FILES) found[name] = await target.get(name, MAX_SNAPSHOT_FILE_BYTES + 1);
  const problems = snapshotProblems(dir, found);
  if (problems.length > 0) throw new BackupVerificationError(dir, problems);
  const files = found as Record<(typeof SNAPSHOT_FILES)[number], Uint8Array>;
  const manifest = snapshotManifest(files, new Date());
  const manifestText = serializeManifest(manifest);

  // As resolveRestoreSource: a private copy (0700 directory, 0600 files) verified on disk is what the restore uses.
  const copy = await mkdtemp(join(options.tempDir ?? tmpdir(), "scone-recovery-"));
  const cleanup = () => rm(copy, { recursive: true, force: true });
  try {
    for (const name of SNAPSHOT_FILES) await writeFile(join(copy, name), files[name], { mode: 0o600, flag: "wx" });
    await writeFile(join(copy, MANIFEST_FILE), manifestText, { mode: 0o600, flag: "wx" });
    const onDisk: Record<string, Uint8Array> = {};
    for (const name of SNAPSHOT_FILES) onDisk[name] = new Uint8Array(await readFile(join(copy, name)));
    const check = checkBackupSet({ manifestText, files: onDisk });
    if (check.problems.length > 0) throw new BackupVerificationError(dir, check.problems);
    return { location: dir, dir: copy, manifest, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
