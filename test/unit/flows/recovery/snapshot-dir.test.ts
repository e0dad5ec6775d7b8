// --cas-database-recovery DIR: a raw snapshot directory (cas.db, cas.key-store) or a scone backup set, as the
// restore flow's verified source; everything else refused before the restore creates anything.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { snapshotDirSource, snapshotId, snapshotProblems } from "../../../../src/flows/recovery/snapshot-dir.ts";

const root = mkdtempSync(join(tmpdir(), "scone-snapshot-dir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sha = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

function snapshot(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

describe("snapshotDirSource", () => {
  test("a raw snapshot: a private verified copy, a manifest of both files, an id from the key store", async () => {
    const dir = snapshot("raw", { "cas.db": "database", "cas.key-store": "keys", "other.txt": "not read" });
    const source = await snapshotDirSource(dir, { tempDir: root });
    try {
      expect(source.location).toBe(dir);
      expect(source.manifest.id).toBe(snapshotId(new TextEncoder().encode("keys")));
      expect(source.manifest.files).toEqual({
        "cas.db": { sha256: sha("database"), size: 8 },
        "cas.key-store": { sha256: sha("keys"), size: 4 },
      });
      expect(readFileSync(join(source.dir, "cas.key-store"), "utf8")).toBe("keys");
      expect(existsSync(join(source.dir, "other.txt"))).toBe(false);
      expect((statSync(source.dir).mode & 0o777).toString(8)).toBe("700");
      expect((statSync(join(source.dir, "cas.db")).mode & 0o777).toString(8)).toBe("600");
    } finally {
      await source.cleanup();
    }
    expect(existsSync(source.dir)).toBe(false);
  });

  test("the same snapshot gets the same id (a rerun continues the CAS it created)", () => {
    expect(snapshotId(new TextEncoder().encode("keys"))).toBe(snapshotId(new TextEncoder().encode("keys")));
    expect(snapshotId(new TextEncoder().encode("keys"))).toMatch(/^snapshot-[0-9a-f]{16}$/);
  });

  test("missing and empty files are refused, every problem named", async () => {
    const dir = snapshot("incomplete", { "cas.key-store": "" });
    const error = await snapshotDirSource(dir).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain(`${join(dir, "cas.db")} is missing`);
    expect(error?.message).toContain(`${join(dir, "cas.key-store")} is empty`);
    expect(snapshotProblems("/d", { "cas.db": new Uint8Array(1), "cas.key-store": new Uint8Array(1) })).toEqual([]);
  });

  test("symbolic links are never followed: a linked file or a linked directory is refused", async () => {
    const secret = join(root, "secret");
    writeFileSync(secret, "not a snapshot");
    const dir = snapshot("linked-file", { "cas.key-store": "keys" });
    symlinkSync(secret, join(dir, "cas.db"));
    await expect(snapshotDirSource(dir)).rejects.toThrow("is a symbolic link");
    const linkedDir = join(root, "linked-dir");
    symlinkSync(snapshot("real", { "cas.db": "d", "cas.key-store": "k" }), linkedDir);
    await expect(snapshotDirSource(linkedDir)).rejects.toThrow("is a symbolic link: give the directory itself");
  });

  test("not a directory, or an s3:// URL: refused naming the flag", async () => {
    await expect(snapshotDirSource(join(root, "nowhere"))).rejects.toThrow(
      `--cas-database-recovery ${join(root, "nowhere")} is not a directory`,
    );
    await expect(snapshotDirSource("s3://bucket/x")).rejects.toThrow(
      "--cas-database-recovery takes a local snapshot directory",
    );
  });

  test("a scone backup set (with backup.json) is verified against its manifest: a changed file is refused", async () => {
    const dir = snapshot("set", { "cas.db": "database", "cas.key-store": "keys" });
    const manifest = {
      format: "scone-cas-backup/1",
      id: "bk-20261207t120000z-abcde",
      cas: { namespace: "ns", name: "cas", version: "6.0.6" },
      snapshot: { marker: null, timestamp: null },
      created: "2026-12-07T12:00:00Z",
      scone: { version: "0.1.0" },
      files: { "cas.db": { sha256: sha("database"), size: 8 }, "cas.key-store": { sha256: sha("keys"), size: 4 } },
    };
    writeFileSync(join(dir, "backup.json"), JSON.stringify(manifest));
    const source = await snapshotDirSource(dir, { tempDir: root });
    expect(source.manifest.id).toBe(manifest.id);
    await source.cleanup();
    writeFileSync(join(dir, "cas.key-store"), "other keys");
    await expect(snapshotDirSource(dir)).rejects.toThrow("cas.key-store");
  });
});
