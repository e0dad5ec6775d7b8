// Verification of a backup set: the manifest is there and well-formed, both snapshot files are there, and every
// file has the size and sha256 the manifest records. A set failing any check is refused, with every reason.
import type { BackupFiles } from "../store/schema.ts";
import { joinKey, MANIFEST_FILE, MAX_MANIFEST_BYTES, SNAPSHOT_FILES } from "./layout.ts";
import { type BackupManifest, checkFiles, parseManifest } from "./manifest.ts";
import { openSetAt } from "./open-target.ts";
import { type LocateOptions, locateBackup } from "./source.ts";
import { type BackupTarget, readSetFiles } from "./target.ts";

/** What the caller already knows about the backup (e.g. from its catalog row): the set must agree. */
export interface ExpectedBackup {
  id?: string;
  namespace?: string;
  name?: string;
  files?: BackupFiles;
}

export interface SetContents {
  /** backup.json as text, or null when absent. */
  manifestText: string | null;
  /** Each file's bytes, or null when absent. */
  files: Record<string, Uint8Array | null>;
}

export interface SetCheck {
  problems: string[];
  manifest?: BackupManifest;
}

/** Pure: every problem of a set's contents. */
export function checkBackupSet(contents: SetContents, expected: ExpectedBackup = {}): SetCheck {
  if (contents.manifestText === null) {
    const present = SNAPSHOT_FILES.filter((f) => contents.files[f]);
    const detail = present.length > 0 ? ` (${present.join(", ")} present: an incomplete or interrupted backup)` : "";
    return { problems: [`no ${MANIFEST_FILE} manifest${detail}; only a complete scone backup can be restored`] };
  }
  const parsed = parseManifest(contents.manifestText);
  if (!parsed.ok) return { problems: parsed.problems };
  const manifest = parsed.manifest;
  const problems = checkFiles(manifest, contents.files);
  if (expected.id !== undefined && manifest.id !== expected.id) {
    problems.push(`manifest id ${manifest.id} is not the expected backup ${expected.id}`);
  }
  if (expected.namespace !== undefined && manifest.cas.namespace !== expected.namespace) {
    problems.push(`manifest namespace ${manifest.cas.namespace} is not ${expected.namespace}`);
  }
  if (expected.name !== undefined && manifest.cas.name !== expected.name) {
    problems.push(`manifest CAS name ${manifest.cas.name} is not ${expected.name}`);
  }
  if (expected.files !== undefined) {
    for (const name of SNAPSHOT_FILES) {
      const want = expected.files[name];
      const have = manifest.files[name];
      if (want && have && (want.sha256 !== have.sha256 || want.size !== have.size)) {
        problems.push(`${name} in the manifest differs from the catalog record (manifest replaced?)`);
      }
    }
  }
  return { problems, manifest };
}

export interface BackupSetHandle {
  target: BackupTarget;
  /** Key of the set below the target's root; "" when the target's root is the set itself. */
  set: string;
}

export interface VerifyResult {
  ok: boolean;
  problems: string[];
  /** Where the set is (directory or s3:// URL). */
  location: string;
  manifest?: BackupManifest;
}

export interface VerifyOptions extends Omit<LocateOptions, "expected"> {
  /** What the set must agree with (besides what the catalog row says, for ids). */
  expected?: ExpectedBackup;
}

/**
 * Reads a set: its manifest (at most 64 KiB) and the two snapshot files, each at most one byte more than the
 * manifest records (enough to see it is larger). Without a valid manifest, only whether the files are there.
 * Nothing the manifest names is read: the names are the known snapshot files.
 */
export async function readBackupSet(handle: BackupSetHandle): Promise<SetContents> {
  const manifestBytes = await handle.target.get(joinKey(handle.set, MANIFEST_FILE), MAX_MANIFEST_BYTES + 1);
  const manifestText = manifestBytes === null ? null : new TextDecoder().decode(manifestBytes);
  const parsed = manifestText === null ? undefined : parseManifest(manifestText);
  const limits: Record<string, number> = {};
  for (const name of SNAPSHOT_FILES) {
    limits[name] = parsed?.ok ? (parsed.manifest.files[name]?.size ?? 0) + 1 : 1;
  }
  return { manifestText, files: await readSetFiles(handle.target, handle.set, limits) };
}

/**
 * Verifies a backup set given as a catalog id (with `store`), a location (directory or s3:// URL of the set
 * itself) or an open target. Never throws for a bad backup: the reasons are in `problems`. Throws for bad input
 * (unknown id, missing directory) or an unreachable target.
 */
export async function verifyBackup(
  source: string | BackupSetHandle,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  let handle: BackupSetHandle;
  let expected: ExpectedBackup | undefined = options.expected;
  if (typeof source === "string") {
    const located = await locateBackup(source, options);
    handle = openSetAt(located.location, { field: "--from", ...options });
    expected = { ...options.expected, ...located.expected };
  } else {
    handle = source;
  }
  const location = handle.target.locationOf(handle.set);
  const { problems, manifest } = checkBackupSet(await readBackupSet(handle), expected);
  return { ok: problems.length === 0, problems, location, ...(manifest ? { manifest } : {}) };
}
