// Where a backup named by the user is: a catalog id ("bk-…"), a directory, or an s3:// URL of one backup set;
// with what the catalog knows about it, which the set must then agree with.
import { stat } from "node:fs/promises";
import { type BackupRecord, getBackup } from "../store/backups.ts";
import type { StoreDb } from "../store/open.ts";
import { BackupInputError } from "./errors.ts";
import { isS3Location } from "./location.ts";
import type { OpenTargetOptions } from "./open-target.ts";
import type { ExpectedBackup } from "./verify.ts";

export interface LocateOptions extends OpenTargetOptions {
  /** Needed to resolve catalog ids. */
  store?: { db: StoreDb };
  /** The set must belong to this CAS (when given). */
  expected?: Pick<ExpectedBackup, "namespace" | "name">;
}

export interface LocatedBackup {
  location: string;
  record?: BackupRecord;
  expected: ExpectedBackup;
}

const CATALOG_ID = /^bk-[0-9a-z]+-[0-9a-z]+$/;

/** Resolves a --from value; only completed catalog backups qualify. */
export async function locateBackup(spec: string, options: LocateOptions): Promise<LocatedBackup> {
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
