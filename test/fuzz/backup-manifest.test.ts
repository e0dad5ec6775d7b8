// Property-based tests of the backup manifest parser (backup.json comes from a bucket or directory others may write
// to). Fixed seed and a bounded count for `make test`; SCONE_FUZZ_RUNS / SCONE_FUZZ_SEED for a longer run.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MAX_SNAPSHOT_FILE_BYTES, SNAPSHOT_FILES } from "../../src/backup/layout.ts";
import {
  type BackupManifest,
  duplicateJsonKeys,
  MANIFEST_FORMAT,
  parseManifest,
  serializeManifest,
} from "../../src/backup/manifest.ts";
import { fuzzParams } from "./parser-runs.ts";

const settings = fuzzParams(1.5);

const entry = fc.record({
  sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
  size: fc.integer({ min: 0, max: MAX_SNAPSHOT_FILE_BYTES }),
});
const text = fc.string({ maxLength: 40 });
const manifest: fc.Arbitrary<BackupManifest> = fc.record({
  format: fc.constant(MANIFEST_FORMAT),
  id: text.filter((s) => s !== ""),
  cas: fc.record({ namespace: text, name: text, version: fc.option(text, { nil: null }) }),
  snapshot: fc.record({
    marker: fc.option(text, { nil: null }),
    timestamp: fc.option(fc.constant("2026-11-23T10:00:00.000Z"), { nil: null }),
  }),
  created: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
  scone: fc.record({ version: text }),
  files: fc.record({ "cas.db": entry, "cas.key-store": entry }),
});

/** Names a hostile manifest could list: paths out of the set, absolute paths, look-alikes, anything. */
const foreignName = fc
  .oneof(
    fc.constantFrom("../../x", "/etc/passwd", "./cas.db", "cas.db/", "CAS.DB", "backup.json", "__proto__", ""),
    fc.string({ maxLength: 30 }),
    fc.array(fc.constantFrom("..", ".", "a", "", "cas.db"), { minLength: 1, maxLength: 5 }).map((p) => p.join("/")),
  )
  .filter((n) => !(SNAPSHOT_FILES as readonly string[]).includes(n));

describe("backup manifest (property-based)", () => {
  test("every valid manifest round-trips through backup.json unchanged", () => {
    fc.assert(
      fc.property(manifest, (m) => {
        const parsed = parseManifest(serializeManifest(m));
        expect(parsed).toEqual({ ok: true, manifest: m });
      }),
      settings,
    );
  });

  test("a manifest listing any other name is refused, naming it", () => {
    fc.assert(
      fc.property(manifest, foreignName, (m, name) => {
        const files = { ...m.files, [name]: m.files["cas.db"] };
        const parsed = parseManifest(JSON.stringify({ ...m, files }));
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(parsed.problems.join("\n")).toContain(`lists ${JSON.stringify(name).slice(0, 20)}`);
      }),
      settings,
    );
  });

  test("a key repeated anywhere in the document is refused (JSON.parse alone would keep only the last)", () => {
    // Where to repeat a key: the text the copy goes after, and the key.
    const places = fc.constantFrom(
      ["{", "id"],
      ["{", "format"],
      ["{", "files"],
      ['"files": {', "cas.db"],
      ['"cas.key-store": {', "sha256"],
    );
    fc.assert(
      fc.property(manifest, places, fc.jsonValue({ maxDepth: 2 }), (m, [after, key], value) => {
        const json = serializeManifest(m);
        const at = json.indexOf(after) + after.length;
        const doubled = `${json.slice(0, at)}${JSON.stringify(key)}: ${JSON.stringify(value)},${json.slice(at)}`;
        expect(duplicateJsonKeys(doubled)).toEqual([key]);
        expect(parseManifest(doubled).ok).toBe(false);
      }),
      settings,
    );
  });

  test("arbitrary text or JSON never throws; what parses lists exactly the snapshot files, within bounds", () => {
    const anyJson = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 4 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(anyJson, (input) => {
        const parsed = parseManifest(input);
        if (parsed.ok) {
          expect(Object.keys(parsed.manifest.files).sort()).toEqual([...SNAPSHOT_FILES].sort());
          for (const f of Object.values(parsed.manifest.files))
            expect(f.size).toBeLessThanOrEqual(MAX_SNAPSHOT_FILE_BYTES);
        } else {
          expect(parsed.problems.length).toBeGreaterThan(0);
        }
      }),
      settings,
    );
  });

  test("a valid manifest with one field mutated is refused or still lists exactly the snapshot files", () => {
    const mutation = fc.record({
      path: fc.constantFrom(
        ["files", "cas.db", "size"],
        ["files", "cas.key-store", "sha256"],
        ["files"],
        ["cas"],
        ["id"],
      ),
      value: fc.jsonValue({ maxDepth: 2 }),
    });
    fc.assert(
      fc.property(manifest, mutation, (m, { path, value }) => {
        const doc = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
        let at: Record<string, unknown> = doc;
        for (const p of path.slice(0, -1)) at = at[p] as Record<string, unknown>;
        at[path[path.length - 1] as string] = value;
        const parsed = parseManifest(JSON.stringify(doc));
        if (parsed.ok) expect(Object.keys(parsed.manifest.files).sort()).toEqual([...SNAPSHOT_FILES].sort());
      }),
      settings,
    );
  });
});
