// Errors of the backup layer, for the CLI and the API to map onto messages and exit codes / HTTP statuses.

import { FieldInputError } from "../runtime/field-error.ts";

/** Bad input (a target, a policy, a source): names the field and says what is expected. */
export class BackupInputError extends FieldInputError {
  override readonly name = "BackupInputError";
}

/** Another backup of the same CAS is pending or running: backups of one CAS are serialized. */
export class BackupInProgressError extends Error {
  override readonly name = "BackupInProgressError";
  constructor(
    readonly runningId: string,
    message: string,
  ) {
    super(message);
  }
}

/** The CAS cannot be backed up now (e.g. not provisioned). */
export class BackupNotPossibleError extends Error {
  override readonly name = "BackupNotPossibleError";
}

/** A backup set failed verification: incomplete, corrupted or not a scone backup. Never restored from. */
export class BackupVerificationError extends Error {
  override readonly name = "BackupVerificationError";
  constructor(
    readonly location: string,
    readonly problems: readonly string[],
  ) {
    super(`backup at ${location} is refused: ${problems.join("; ")}`);
  }
}

/** S3 credentials are missing or malformed. The message names the variable or Secret key, never a value. */
export class S3CredentialsError extends Error {
  override readonly name = "S3CredentialsError";
}

/** A request to a backup target failed (I/O or S3 error); secrets are scrubbed from the message. */
export class BackupTargetError extends Error {
  override readonly name = "BackupTargetError";
  constructor(
    message: string,
    /** S3 error code (NoSuchBucket, AccessDenied, …) or Node error code (EACCES, …) when known. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
