// The manifest (backup.json) of a backup set: what it holds and the hash and size of every file, so a restore can
// verify every byte before it creates anything. Pure: building, serializing, parsing, checking files against it.
import { createHash } from "node:crypto";
import type { BackupFiles } from "../store/schema.ts";
import { MAX_MANIFEST_BYTES, MAX_SNAPSHOT_FILE_BYTES, SNAPSHOT_FILES } from "./layout.ts";

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
  /**
   * ISO 8601 time the backup started (added within format 1: a manifest written before has none, and a catalog
   * rebuilt from it uses `created`). Lets a catalog rebuilt from the target hold the same times as the original.
   */
  started?: string;
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

/** A name from outside, quoted and shortened for a message. */
const quoted = (name: string): string => JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);

/**
 * Object keys that occur twice in one JSON object of `text` (already known to be valid JSON). JSON.parse keeps
 * the last of duplicates silently, so a manifest could show one checker one entry and another checker another.
 */
export function duplicateJsonKeys(text: string): string[] {
  const duplicates: string[] = [];
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) duplicates.push(key);
        top.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === "{") {
      stack.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      stack.push(null);
      expectKey = false;
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return duplicates;
}

function parseFiles(files: unknown, problems: string[]): BackupFiles {
  const out: BackupFiles = {};
  if (!isRecord(files)) {
    problems.push("backup.json has no files map");
    return out;
  }
  const known = new Set<string>(SNAPSHOT_FILES);
  for (const name of Object.keys(files)) {
    if (!known.has(name)) {
      problems.push(
        `backup.json lists ${quoted(name)}, which is not a backup file (a set holds exactly ${SNAPSHOT_FILES.join(" and ")})`,
      );
    }
  }
  for (const name of SNAPSHOT_FILES) {
    if (!Object.hasOwn(files, name)) problems.push(`backup.json lists no ${name}`);
  }
  for (const name of SNAPSHOT_FILES) {
    if (!Object.hasOwn(files, name)) continue;
    const entry = files[name];
    const valid =
      isRecord(entry) &&
      typeof entry.sha256 === "string" &&
      /^[0-9a-f]{64}$/.test(entry.sha256) &&
      Number.isSafeInteger(entry.size) &&
      (entry.size as number) >= 0;
    if (!valid) {
      problems.push(`backup.json entry for ${name} needs sha256 (64 hex digits) and size (bytes)`);
    } else if ((entry.size as number) > MAX_SNAPSHOT_FILE_BYTES) {
      problems.push(
        `backup.json says ${name} has ${entry.size} bytes, more than the ${MAX_SNAPSHOT_FILE_BYTES} allowed`,
      );
    } else {
      out[name] = { sha256: entry.sha256 as string, size: entry.size as number };
    }
  }
  return out;
}

/**
 * Parses backup.json and checks its shape; every problem found is reported, not just the first. The manifest comes
 * from a bucket or directory others may write to: it must be at most 64 KiB, have no duplicate keys, and list
 * exactly the known snapshot files (nothing else is ever read, written or compared because a manifest names it).
 */
export function parseManifest(text: string): ManifestParse {
  if (text.length > MAX_MANIFEST_BYTES) {
    return { ok: false, problems: [`backup.json is larger than ${MAX_MANIFEST_BYTES} bytes (not a scone manifest)`] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problems: ["backup.json is not valid JSON (truncated or not a scone backup manifest)"] };
  }
  if (!isRecord(data)) return { ok: false, problems: ["backup.json is not a JSON object"] };
  const problems: string[] = [];
  const duplicates = duplicateJsonKeys(text);
  if (duplicates.length > 0) {
    problems.push(`backup.json names ${[...new Set(duplicates)].map(quoted).join(", ")} more than once`);
  }
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
  const started = data.started;
  if (started !== undefined && (typeof started !== "string" || Number.isNaN(Date.parse(started)))) {
    problems.push("backup.json started is not an ISO 8601 time");
  }
  if (!isRecord(data.scone) || typeof data.scone.version !== "string")
    problems.push("backup.json has no scone version");
  const files = parseFiles(data.files, problems);
  if (problems.length > 0) return { ok: false, problems };
  // Rebuilt from the checked fields: nothing else of the input travels on.
  const c = cas as { namespace: string; name: string; version: string | null };
  const s = snapshot as { marker: string | null; timestamp: string | null };
  return {
    ok: true,
    manifest: {
      format: MANIFEST_FORMAT,
      id: data.id as string,
      cas: { namespace: c.namespace, name: c.name, version: c.version },
      snapshot: { marker: s.marker, timestamp: s.timestamp },
      created: data.created as string,
      ...(typeof started === "string" ? { started } : {}),
      scone: { version: (data.scone as { version: string }).version },
      files,
    },
  };
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
