// Turns a location (directory or s3://bucket/prefix) into a BackupTarget. S3 credentials are taken as given, or
// from the environment when none are passed.
import { basename, dirname, join } from "node:path";
import { BackupInputError } from "./errors.ts";
import { unsafeKeyReason } from "./layout.ts";
import { LocalDirectoryTarget } from "./local-target.ts";
import { formatBackupLocation, parseBackupLocation } from "./location.ts";
import { type S3Credentials, s3CredentialsFromEnv } from "./s3-credentials.ts";
import { S3Target } from "./s3-target.ts";
import type { BackupTarget } from "./target.ts";

export interface OpenTargetOptions {
  /** For s3:// locations; default: s3CredentialsFromEnv(env). */
  credentials?: S3Credentials;
  env?: Record<string, string | undefined>;
  /** Flag name for error messages (--to, --from). */
  field?: string;
}

export function openTarget(location: string, options: OpenTargetOptions = {}): BackupTarget {
  const parsed = parseBackupLocation(location, options.field);
  if (parsed.kind === "directory") return new LocalDirectoryTarget(parsed.path);
  const credentials = options.credentials ?? s3CredentialsFromEnv(options.env);
  return new S3Target(parsed.bucket, parsed.prefix, credentials);
}

/** A backup set given by its own location: the target is its parent, the set its last path segment. */
export interface OpenedSet {
  target: BackupTarget;
  set: string;
}

/**
 * Opens the location of one backup set (a catalog row's target, or a --from value). Opening the parent rather
 * than the set itself lets a removal take the set's directory away too.
 */
export function openSetAt(location: string, options: OpenTargetOptions = {}): OpenedSet {
  const parsed = parseBackupLocation(location, options.field);
  if (parsed.kind === "directory") {
    const set = basename(parsed.path);
    if (unsafeKeyReason(set) !== undefined || set === "") {
      throw new BackupInputError(options.field ?? "location", `${location} does not name a backup set directory`);
    }
    return { target: new LocalDirectoryTarget(dirname(parsed.path)), set };
  }
  const cut = parsed.prefix.lastIndexOf("/");
  const parent = { ...parsed, prefix: cut === -1 ? "" : parsed.prefix.slice(0, cut) };
  return { target: openTarget(formatBackupLocation(parent), options), set: parsed.prefix.slice(cut + 1) };
}

/** Where backups go when no --to is given: <state dir>/backups. */
export function defaultBackupLocation(stateDir: string): string {
  return join(stateDir, "backups");
}
