// verifyBackup and resolveRestoreSource on backup sets in local directories: complete sets pass; a missing file,
// a wrong hash, a truncated file or a missing manifest are refused with the reason.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackupInputError, BackupVerificationError } from "../../../src/backup/errors.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import { checkBackupSet, verifyBackup } from "../../../src/backup/verify.ts";
import { createBackup, updateBackup } from "../../../src/store/backups.ts";
import type { Store } from "../../../src/store/open.ts";
import { cleanup, snapshotRoot, tempDir, tempStore } from "../../harness/backup-fixtures.ts";

afterEach(cleanup);

async function backupSet(store: Store = tempStore()) {
  const snap = snapshotRoot();
  const record = await runBackup({
    cas: { namespace: "prod", name: "cas" },
    source: new DirectorySnapshotSource(snap.root),
    target: new LocalDirectoryTarget(tempDir("target")),
    store,
  });
  expect(record.phase).toBe("completed");
  return { record, dir: record.target, snap, store };
}

describe("verifyBackup", () => {
  test("a complete set verifies, with its manifest", async () => {
    const { dir, record } = await backupSet();
    const result = await verifyBackup(dir);
    expect(result).toMatchObject({ ok: true, problems: [], location: dir, manifest: { id: record.id } });
  });

  test("a catalog id verifies against the set and the catalog row", async () => {
    const { record, store, dir } = await backupSet();
    expect(await verifyBackup(record.id, { store })).toMatchObject({ ok: true, location: dir });
    rmSync(join(dir, "cas.db"));
    expect(await verifyBackup(record.id, { store })).toMatchObject({ ok: false, problems: ["cas.db is missing"] });
  });

  test("a missing key store is refused", async () => {
    const { dir } = await backupSet();
    rmSync(join(dir, "cas.key-store"));
    expect(await verifyBackup(dir)).toMatchObject({ ok: false, problems: ["cas.key-store is missing"] });
  });

  test("a wrong sha256 (same size) is refused as corrupted", async () => {
    const { dir } = await backupSet();
    const bytes = readFileSync(join(dir, "cas.db"));
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(join(dir, "cas.db"), bytes);
    const result = await verifyBackup(dir);
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^cas\.db sha256 is .* \(corrupted\)$/);
  });

  test("a truncated file is refused", async () => {
    const { dir, snap } = await backupSet();
    truncateSync(join(dir, "cas.db"), 1000);
    expect((await verifyBackup(dir)).problems).toEqual([
      `cas.db is 1000 bytes, the manifest says ${snap.db.byteLength} (truncated)`,
    ]);
  });

  test("a set without manifest is refused even when both files are intact", async () => {
    const { dir } = await backupSet();
    rmSync(join(dir, "backup.json"));
    expect(await verifyBackup(dir)).toMatchObject({
      ok: false,
      problems: [
        "no backup.json manifest (cas.db, cas.key-store present: an incomplete or interrupted backup); only a complete scone backup can be restored",
      ],
    });
    const empty = tempDir("empty-set");
    expect((await verifyBackup(empty)).problems[0]).toStartWith("no backup.json manifest;");
    await expect(verifyBackup(join(empty, "missing"))).rejects.toBeInstanceOf(BackupInputError);
  });

  test("a manifest that disagrees with what the caller knows is refused", () => {
    const manifestText = JSON.stringify({
      format: "scone-cas-backup/1",
      id: "bk-a",
      cas: { namespace: "prod", name: "cas", version: null },
      snapshot: { marker: null, timestamp: null },
      created: "2026-11-23T00:00:00Z",
      scone: { version: "x" },
      files: {
        "cas.db": { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", size: 0 },
        "cas.key-store": { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", size: 0 },
      },
    });
    const files = { "cas.db": new Uint8Array(), "cas.key-store": new Uint8Array() };
    expect(checkBackupSet({ manifestText, files }).problems).toEqual([]);
    const other = { sha256: "00".repeat(32), size: 0 };
    const check = checkBackupSet(
      { manifestText, files },
      { id: "bk-b", namespace: "dev", name: "cas2", files: { "cas.db": other } },
    );
    expect(check.problems).toEqual([
      "manifest id bk-a is not the expected backup bk-b",
      "manifest namespace prod is not dev",
      "manifest CAS name cas is not cas2",
      "cas.db in the manifest differs from the catalog record (manifest replaced?)",
    ]);
  });
});

describe("resolveRestoreSource", () => {
  test("a catalog id is fetched into a private temp dir and verified there", async () => {
    const { record, snap, store } = await backupSet();
    const parent = tempDir("restore");
    const source = await resolveRestoreSource(record.id, { store, tempDir: parent });
    expect(source.location).toBe(record.target);
    expect(source.record?.id).toBe(record.id);
    expect(source.manifest.id).toBe(record.id);
    expect(statSync(source.dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(source.dir).sort()).toEqual(["backup.json", "cas.db", "cas.key-store"]);
    expect(statSync(join(source.dir, "cas.db")).mode & 0o777).toBe(0o600);
    expect(new Uint8Array(readFileSync(join(source.dir, "cas.key-store")))).toEqual(snap.keyStore);
    await source.cleanup();
    expect(existsSync(source.dir)).toBe(false);
  });

  test("a directory source works without a catalog; a corrupted one is refused and leaves no temp dir", async () => {
    const { dir } = await backupSet();
    const parent = tempDir("restore");
    const ok = await resolveRestoreSource(dir, { tempDir: parent });
    expect(ok.manifest.cas).toMatchObject({ namespace: "prod", name: "cas" });
    await ok.cleanup();
    truncateSync(join(dir, "cas.key-store"), 3);
    const error = await resolveRestoreSource(dir, { tempDir: parent }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupVerificationError);
    expect((error as BackupVerificationError).problems[0]).toContain("cas.key-store is 3 bytes");
    expect((error as Error).message).toStartWith(`backup at ${dir} is refused: `);
    expect(readdirSync(parent)).toEqual([]);
  });

  test("the set must belong to the expected CAS", async () => {
    const { dir } = await backupSet();
    const error = await resolveRestoreSource(dir, { expected: { name: "other" } }).catch((e: unknown) => e);
    expect((error as BackupVerificationError).problems).toEqual(["manifest CAS name cas is not other"]);
  });

  test("unknown ids, failed backups and missing directories are input errors naming the fix", async () => {
    const store = tempStore();
    const unknown = await resolveRestoreSource("bk-20261123t000000z-aaaaaaaa", { store }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(BackupInputError);
    expect((unknown as Error).message).toContain(
      'no backup bk-20261123t000000z-aaaaaaaa in the catalog; list them with "scone cas backups"',
    );
    const failed = createBackup(store.db, { namespace: "prod", name: "cas", target: "/x", phase: "running" });
    updateBackup(store.db, failed.id, { phase: "failed", error: "disk full" });
    await expect(resolveRestoreSource(failed.id, { store })).rejects.toThrow(
      `backup ${failed.id} is failed: disk full; only completed backups restore`,
    );
    await expect(resolveRestoreSource(join(tempDir(), "missing"))).rejects.toThrow(
      "is neither a backup id, an s3:// URL nor an existing directory",
    );
  });

  test("a catalog row whose manifest was replaced in the target is refused", async () => {
    const { record, store } = await backupSet();
    const other = await backupSet(store);
    // Swap in the other backup's files and manifest under the first one's location.
    for (const name of ["cas.db", "cas.key-store", "backup.json"]) {
      writeFileSync(join(record.target, name), readFileSync(join(other.record.target, name)));
    }
    const error = await resolveRestoreSource(record.id, { store }).catch((e: unknown) => e);
    expect((error as BackupVerificationError).problems).toEqual([
      `manifest id ${other.record.id} is not the expected backup ${record.id}`,
      "cas.db in the manifest differs from the catalog record (manifest replaced?)",
      "cas.key-store in the manifest differs from the catalog record (manifest replaced?)",
    ]);
  });
});
