// Backup locations as users write them: a directory path, or s3://bucket/prefix. Pure parsing, no I/O.
import { resolve } from "node:path";
import { BackupInputError } from "./errors.ts";

export type BackupLocation = { kind: "directory"; path: string } | { kind: "s3"; bucket: string; prefix: string };

// S3 bucket naming rules (AWS general purpose buckets): 3–63 chars of a-z 0-9 . -, starting and ending alphanumeric.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/** Parses `--to`/`--from` values; `field` names the flag in error messages. */
export function parseBackupLocation(text: string, field = "--to"): BackupLocation {
  const value = text.trim();
  if (value === "") throw new BackupInputError(field, `${field} is empty: give a directory or s3://bucket/prefix`);
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "directory", path: resolve(value) };
  if (scheme !== "s3") {
    throw new BackupInputError(
      field,
      `${field}: unsupported scheme "${scheme}://"; use a directory or s3://bucket/prefix`,
    );
  }
  const rest = value.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  // The authority part must be a bare bucket name; never echo it when it looks like user:secret@host.
  if (bucket.includes("@") || bucket.includes(":")) {
    throw new BackupInputError(
      field,
      `${field}: credentials or ports do not belong in an s3:// URL; pass them through AWS_* variables or a Secret`,
    );
  }
  if (!BUCKET.test(bucket) || bucket.includes("..")) {
    throw new BackupInputError(
      field,
      `${field}: "${bucket}" is not a valid S3 bucket name (3-63 characters: a-z, 0-9, ".", "-", starting and ending with a letter or digit)`,
    );
  }
  if (/[?#]/.test(rest)) throw new BackupInputError(field, `${field}: an s3:// URL takes no query or fragment`);
  const segments = (slash === -1 ? "" : rest.slice(slash + 1)).split("/").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === "..")) {
    throw new BackupInputError(field, `${field}: the S3 prefix must not contain "." or ".." segments`);
  }
  return { kind: "s3", bucket, prefix: segments.join("/") };
}

export function formatBackupLocation(location: BackupLocation): string {
  if (location.kind === "directory") return location.path;
  return location.prefix === "" ? `s3://${location.bucket}` : `s3://${location.bucket}/${location.prefix}`;
}

export function isS3Location(text: string): boolean {
  return /^s3:\/\//i.test(text.trim());
}
