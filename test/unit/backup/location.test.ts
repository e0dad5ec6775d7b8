import { describe, expect, test } from "bun:test";
import { BackupInputError } from "../../../src/backup/errors.ts";
import { formatBackupLocation, parseBackupLocation } from "../../../src/backup/location.ts";

function failure(text: string): BackupInputError {
  try {
    parseBackupLocation(text, "--to");
  } catch (error) {
    if (error instanceof BackupInputError) return error;
    throw error;
  }
  throw new Error(`${text} was accepted`);
}

describe("backup locations", () => {
  test("s3://bucket/prefix splits into bucket and a normalized prefix", () => {
    expect(parseBackupLocation("s3://cas-backups/prod/eu//one/")).toEqual({
      kind: "s3",
      bucket: "cas-backups",
      prefix: "prod/eu/one",
    });
    expect(parseBackupLocation("S3://cas-backups")).toEqual({ kind: "s3", bucket: "cas-backups", prefix: "" });
    expect(formatBackupLocation({ kind: "s3", bucket: "b-1", prefix: "" })).toBe("s3://b-1");
    expect(formatBackupLocation(parseBackupLocation("s3://b-1/x/y"))).toBe("s3://b-1/x/y");
  });

  test("anything without a scheme is a directory, made absolute", () => {
    const parsed = parseBackupLocation("./backups");
    expect(parsed.kind).toBe("directory");
    if (parsed.kind === "directory") expect(parsed.path).toBe(`${process.cwd()}/backups`);
    expect(parseBackupLocation("/var/backups")).toEqual({ kind: "directory", path: "/var/backups" });
  });

  test("bad input names the flag and the fix", () => {
    expect(failure("  ").message).toBe("--to is empty: give a directory or s3://bucket/prefix");
    expect(failure("gs://bucket/x").message).toContain('unsupported scheme "gs://"');
    expect(failure("s3://ab/x").message).toContain('"ab" is not a valid S3 bucket name');
    expect(failure("s3://Upper/x").message).toContain("not a valid S3 bucket name");
    expect(failure("s3://bucket/a/../b").message).toContain('".." segments');
    expect(failure("s3://bucket/x?versionId=1").message).toContain("no query");
    expect(failure("s3://").field).toBe("--to");
  });

  test("credentials in the URL are refused without being echoed", () => {
    const error = failure("s3://AKIAEXAMPLE:supersecretvalue@bucket/x");
    expect(error.message).toContain("credentials or ports do not belong in an s3:// URL");
    expect(error.message).not.toContain("supersecretvalue");
    expect(error.message).not.toContain("AKIAEXAMPLE");
  });
});
