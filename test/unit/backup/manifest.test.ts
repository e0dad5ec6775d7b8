import { describe, expect, test } from "bun:test";
import {
  type BackupManifest,
  checkFiles,
  describeFiles,
  MANIFEST_FORMAT,
  parseManifest,
  serializeManifest,
  sha256Hex,
} from "../../../src/backup/manifest.ts";

const db = new TextEncoder().encode("database bytes");
const keys = new TextEncoder().encode("key store");

function manifest(): BackupManifest {
  return {
    format: MANIFEST_FORMAT,
    id: "bk-20261123t120000z-abcdefgh",
    cas: { namespace: "prod", name: "cas", version: "6.0.6" },
    snapshot: { marker: "snapshot-1", timestamp: "2026-11-23T11:59:00.000Z" },
    created: "2026-11-23T12:00:00.000Z",
    scone: { version: "0.1.0" },
    files: describeFiles({ "cas.db": db, "cas.key-store": keys }),
  };
}

describe("manifest", () => {
  test("records sha256 and size of every file and round-trips through backup.json", () => {
    const m = manifest();
    expect(m.files["cas.db"]).toEqual({ sha256: sha256Hex(db), size: db.byteLength });
    expect(sha256Hex(new Uint8Array())).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const parsed = parseManifest(serializeManifest(m));
    expect(parsed).toEqual({ ok: true, manifest: m });
  });

  test("a truncated or foreign backup.json is refused with the reason", () => {
    const text = serializeManifest(manifest());
    expect(parseManifest(text.slice(0, text.length / 2))).toEqual({
      ok: false,
      problems: ["backup.json is not valid JSON (truncated or not a scone backup manifest)"],
    });
    expect(parseManifest("[]")).toEqual({ ok: false, problems: ["backup.json is not a JSON object"] });
    const other = parseManifest(JSON.stringify({ ...manifest(), format: "other/2" }));
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.problems).toEqual([`backup.json format is "other/2"; expected "${MANIFEST_FORMAT}"`]);
  });

  test("every shape problem is reported: missing key store entry, bad hash, negative size, no created time", () => {
    const m = manifest() as unknown as Record<string, unknown>;
    const files = { "cas.db": { sha256: "xyz", size: -1 } };
    const parsed = parseManifest(JSON.stringify({ ...m, files, created: "yesterday" }));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problems).toEqual([
        "backup.json created is not an ISO 8601 time",
        "backup.json lists no cas.key-store",
        "backup.json entry for cas.db needs sha256 (64 hex digits) and size (bytes)",
      ]);
    }
  });

  test("files are checked for presence, size (truncated or larger) and sha256", () => {
    const m = manifest();
    expect(checkFiles(m, { "cas.db": db, "cas.key-store": keys })).toEqual([]);
    expect(checkFiles(m, { "cas.db": db, "cas.key-store": null })).toEqual(["cas.key-store is missing"]);
    expect(checkFiles(m, { "cas.db": db.subarray(0, 4), "cas.key-store": keys })).toEqual([
      `cas.db is 4 bytes, the manifest says ${db.byteLength} (truncated)`,
    ]);
    const longer = new Uint8Array([...keys, 0]);
    expect(checkFiles(m, { "cas.db": db, "cas.key-store": longer })).toEqual([
      `cas.key-store is ${longer.byteLength} bytes, the manifest says ${keys.byteLength} (larger than recorded)`,
    ]);
    const flipped = new Uint8Array(db);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const problems = checkFiles(m, { "cas.db": flipped, "cas.key-store": keys });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^cas\.db sha256 is [0-9a-f]{12}…, the manifest says [0-9a-f]{12}… \(corrupted\)$/);
  });
});

describe("manifest: the start time added within format 1", () => {
  test("a manifest with started round-trips; one written before (no started) still parses, without it", () => {
    const m = { ...manifest(), started: "2026-11-23T11:59:30.000Z" };
    expect(parseManifest(serializeManifest(m))).toEqual({ ok: true, manifest: m });
    const previous = serializeManifest(manifest());
    expect(previous).not.toContain("started");
    const parsed = parseManifest(previous);
    expect(parsed.ok && "started" in parsed.manifest).toBe(false);
  });

  test("a started that is not an ISO 8601 time is refused naming the field", () => {
    for (const started of ["yesterday", 5, null]) {
      const parsed = parseManifest(JSON.stringify({ ...manifest(), started }));
      expect(parsed).toEqual({ ok: false, problems: ["backup.json started is not an ISO 8601 time"] });
    }
  });
});
