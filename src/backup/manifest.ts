// The manifest (backup.json) of a backup set: what it holds and the hash and size of every file, so a restore can
// verify every byte before it creates anything. Pure: building, serializing, parsing, checking files against it.
import { createHash } from "node:crypto";
import type { BackupFiles } from "../store/schema.ts";
import { SNAPSHOT_FILES } from "./layout.ts";

export const MANIFEST_FORMAT = "scone-cas-backup/1";

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  /** Catalog id of the backup ("bk-…"). */
  id: string;
  cas: { namespace: string; name: string; version: string | null };
  /** Which CAS database snapshot was copied: its directory name (marker) and time, when known. */
  snapshot: { marker: string | null; timestamp: string | null };
  /** ISO 8601 time the manifest was written (the backup completed). */
  created: string;
  scone: { version: string };
  files: BackupFiles;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Hash and size of each file. */
export function describeFiles(files: Record<string, Uint8Array>): BackupFiles {
  const out: BackupFiles = {};
  for (const [name, bytes] of Object.entries(files)) out[name] = { sha256: sha256Hex(bytes), size: bytes.byteLength };
  return out;
}

export function serializeManifest(manifest: BackupManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export type ManifestParse = { ok: true; manifest: BackupManifest } | { ok: false; problems: string[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const nullableString = (v: unknown): v is string | null => v === null || typeof v === "string";

/** Parses backup.json and checks its shape; every problem found is reported, not just the first. */
export function parseManifest(text: string): ManifestParse {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problems: ["backup.json is not valid JSON (truncated or not a scone backup manifest)"] };
  }
  if (!isRecord(data)) return { ok: false, problems: ["backup.json is not a JSON object"] };
  const problems: string[] = [];
  if (data.format !== MANIFEST_FORMAT) {
    problems.push(`backup.json format is ${JSON.stringify(data.format)}; expected "${MANIFEST_FORMAT}"`);
  }
  if (typeof data.id !== "string" || data.id === "") problems.push("backup.json has no id");
  const cas = data.cas;
  if (
    !isRecord(cas) ||
    typeof cas.namespace !== "string" ||
    typeof cas.name !== "string" ||
    !nullableString(cas.version)
  ) {
    problems.push("backup.json cas must hold namespace, name and version");
  }
  const snapshot = data.snapshot;
  if (!isRecord(snapshot) || !nullableString(snapshot.marker) || !nullableString(snapshot.timestamp)) {
    problems.push("backup.json snapshot must hold marker and timestamp (string or null)");
  }
  if (typeof data.created !== "string" || Number.isNaN(Date.parse(data.created))) {
    problems.push("backup.json created is not an ISO 8601 time");
  }
  if (!isRecord(data.scone) || typeof data.scone.version !== "string")
    problems.push("backup.json has no scone version");
  const files = data.files;
  if (!isRecord(files)) {
    problems.push("backup.json has no files map");
  } else {
    for (const name of SNAPSHOT_FILES) {
      if (!(name in files)) problems.push(`backup.json lists no ${name}`);
    }
    for (const [name, entry] of Object.entries(files)) {
      const valid =
        isRecord(entry) &&
        typeof entry.sha256 === "string" &&
        /^[0-9a-f]{64}$/.test(entry.sha256) &&
        Number.isSafeInteger(entry.size) &&
        (entry.size as number) >= 0;
      if (!valid) problems.push(`backup.json entry for ${name} needs sha256 (64 hex digits) and size (bytes)`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, manifest: data as unknown as BackupManifest };
}

/**
 * Compares the files found with the manifest. `found` maps each file name to its bytes, or null when absent.
 * Every listed file must be there with the recorded size and sha256.
 */
export function checkFiles(manifest: BackupManifest, found: Record<string, Uint8Array | null>): string[] {
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(manifest.files)) {
    const bytes = found[name] ?? null;
    if (bytes === null) {
      problems.push(`${name} is missing`);
      continue;
    }
    if (bytes.byteLength !== expected.size) {
      const how = bytes.byteLength < expected.size ? "truncated" : "larger than recorded";
      problems.push(`${name} is ${bytes.byteLength} bytes, the manifest says ${expected.size} (${how})`);
      continue;
    }
    const actual = sha256Hex(bytes);
    if (actual !== expected.sha256) {
      problems.push(
        `${name} sha256 is ${actual.slice(0, 12)}…, the manifest says ${expected.sha256.slice(0, 12)}… (corrupted)`,
      );
    }
  }
  return problems;
}

/** Total bytes of the files a manifest lists. */
export function totalSize(files: BackupFiles): number {
  return Object.values(files).reduce((sum, f) => sum + f.size, 0);
}
