// runBackup against a local directory target and a snapshot directory laid out as the CAS writes it.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BackupInProgressError, BackupNotPossibleError } from "../../../src/backup/errors.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { parseManifest, sha256Hex } from "../../../src/backup/manifest.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import type { BackupTarget } from "../../../src/backup/target.ts";
import { createBackup, getBackup } from "../../../src/store/backups.ts";
import { SCONE_VERSION } from "../../../src/version.ts";
import { cleanup, NOW, snapshotRoot, tempDir, tempStore } from "../../harness/backup-fixtures.ts";

afterEach(cleanup);

const cas = { namespace: "prod", name: "cas", version: "6.0.6", provisioned: true };

/** A target that behaves like `local` except for the methods given. */
function misbehaving(local: LocalDirectoryTarget, overrides: Partial<BackupTarget>): BackupTarget {
  return {
    location: local.location,
    locationOf: (key) => local.locationOf(key),
    get: (key) => local.get(key),
    list: (prefix) => local.list(prefix),
    delete: (key) => local.delete(key),
    put: (key, data) => local.put(key, data),
    ...overrides,
  };
}

describe("runBackup", () => {
  test("copies the last-completed snapshot, writes the manifest and records a completed backup", async () => {
    const store = tempStore();
    const snap = snapshotRoot();
    const root = join(tempDir(), "backups");
    let t = NOW;
    const record = await runBackup({
      cas,
      source: new DirectorySnapshotSource(snap.root),
      target: new LocalDirectoryTarget(root),
      store,
      now: () => (t += 1000),
    });
    const setDir = join(root, "prod", "cas", record.id);
    expect(record).toMatchObject({
      phase: "completed",
      namespace: "prod",
      name: "cas",
      method: "snapshot-copy",
      target: setDir,
      startedAt: NOW + 1000,
      stoppedAt: NOW + 3000,
      sizeBytes: snap.db.byteLength + snap.keyStore.byteLength,
      snapshotMarker: "snapshot-2026-11-23T10-00-00-000Z-0",
      error: null,
    });
    expect(record.files).toEqual({
      "cas.db": { sha256: sha256Hex(snap.db), size: snap.db.byteLength },
      "cas.key-store": { sha256: sha256Hex(snap.keyStore), size: snap.keyStore.byteLength },
    });
    expect(readdirSync(setDir).sort()).toEqual(["backup.json", "cas.db", "cas.key-store"]);
    expect(new Uint8Array(readFileSync(join(setDir, "cas.db")))).toEqual(snap.db);
    const parsed = parseManifest(readFileSync(join(setDir, "backup.json"), "utf8"));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.manifest).toMatchObject({
        id: record.id,
        cas: { namespace: "prod", name: "cas", version: "6.0.6" },
        snapshot: { marker: "snapshot-2026-11-23T10-00-00-000Z-0" },
        created: new Date(NOW + 2000).toISOString(),
        scone: { version: SCONE_VERSION },
        files: record.files,
      });
      expect(parsed.manifest.snapshot.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(getBackup(store.db, record.id)).toEqual(record);
  });

  test("a second backup of the same CAS waits for a running one; it records nothing", async () => {
    const store = tempStore();
    const running = createBackup(store.db, { ...cas, target: "/x", phase: "running", startedAt: NOW - 60_000 });
    const error = await runBackup({
      cas,
      source: new DirectorySnapshotSource(snapshotRoot().root),
      target: new LocalDirectoryTarget(tempDir()),
      store,
      now: () => NOW,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupInProgressError);
    expect((error as BackupInProgressError).runningId).toBe(running.id);
    expect(store.sqlite.query("SELECT count(*) AS n FROM backup_catalog").get()).toEqual({ n: 1 });
  });

  test("two backups of one CAS started together: one completes, the other is refused", async () => {
    const store = tempStore();
    const snap = snapshotRoot();
    const target = new LocalDirectoryTarget(tempDir());
    const start = () =>
      runBackup({ cas, source: new DirectorySnapshotSource(snap.root), target, store }).then(
        (record) => record.phase,
        (error: unknown) => (error instanceof BackupInProgressError ? "refused" : String(error)),
      );
    expect((await Promise.all([start(), start()])).sort()).toEqual(["completed", "refused"]);
    // Another CAS is not held up by it.
    const other = { ...cas, name: "cas-2" };
    const both = await Promise.all([
      runBackup({ cas, source: new DirectorySnapshotSource(snap.root), target, store }),
      runBackup({ cas: other, source: new DirectorySnapshotSource(snap.root), target, store }),
    ]);
    expect(both.map((r) => r.phase)).toEqual(["completed", "completed"]);
  });

  test("a crashed backup (running row, data files, no manifest) is marked failed and its files removed", async () => {
    const store = tempStore();
    const root = tempDir();
    const target = new LocalDirectoryTarget(root);
    const crashed = createBackup(store.db, {
      ...cas,
      id: "bk-20261123t080000z-crashed1",
      target: join(root, "prod", "cas", "bk-20261123t080000z-crashed1"),
      phase: "running",
      startedAt: NOW - 4 * 3_600_000,
    });
    await target.put(`prod/cas/${crashed.id}/cas.db`, new Uint8Array([1, 2, 3]));
    const record = await runBackup({
      cas,
      source: new DirectorySnapshotSource(snapshotRoot().root),
      target,
      store,
      now: () => NOW,
    });
    expect(record.phase).toBe("completed");
    const old = getBackup(store.db, crashed.id);
    expect(old).toMatchObject({ phase: "failed", stoppedAt: NOW });
    expect(old?.error).toContain("abandoned: still running after 240 min");
    expect(existsSync(join(root, "prod", "cas", crashed.id))).toBe(false);
    expect(readdirSync(join(root, "prod", "cas"))).toEqual([record.id]);
  });

  test("a failing target fails the backup with the reason, and leaves no manifest and no partial files", async () => {
    const store = tempStore();
    const root = tempDir();
    const local = new LocalDirectoryTarget(root);
    const writes: string[] = [];
    const flaky = misbehaving(local, {
      async put(key, data) {
        writes.push(key.split("/").at(-1) ?? "");
        if (key.endsWith("cas.key-store")) throw new Error("No space left on device");
        await local.put(key, data);
      },
    });
    const record = await runBackup({
      cas,
      source: new DirectorySnapshotSource(snapshotRoot().root),
      target: flaky,
      store,
      now: () => NOW,
    });
    expect(record).toMatchObject({ phase: "failed", error: "No space left on device", stoppedAt: NOW });
    expect(writes).toEqual(["cas.db", "cas.key-store"]);
    expect(await local.list("")).toEqual([]);
  });

  test("a target that stores other bytes than written never gets a manifest", async () => {
    const store = tempStore();
    const local = new LocalDirectoryTarget(tempDir());
    const lying = misbehaving(local, {
      async get(key) {
        const bytes = await local.get(key);
        return bytes && key.endsWith("cas.db") ? bytes.subarray(1) : bytes;
      },
    });
    const record = await runBackup({
      cas,
      source: new DirectorySnapshotSource(snapshotRoot().root),
      target: lying,
      store,
      now: () => NOW,
    });
    expect(record.phase).toBe("failed");
    expect(record.error).toContain("cas.db reads back different from what was written");
    expect(await local.list("")).toEqual([]);
  });

  test("no snapshot yet, or an unprovisioned CAS: the reason is clear", async () => {
    const store = tempStore();
    const empty = tempDir("no-snapshots");
    const record = await runBackup({
      cas,
      source: new DirectorySnapshotSource(empty),
      target: new LocalDirectoryTarget(tempDir()),
      store,
      now: () => NOW,
    });
    expect(record.phase).toBe("failed");
    expect(record.error).toBe(
      `no complete CAS snapshot in ${empty}: cas.db and cas.key-store missing (has the CAS taken a snapshot yet?)`,
    );
    const refused = runBackup({
      cas: { ...cas, provisioned: false },
      source: new DirectorySnapshotSource(empty),
      target: new LocalDirectoryTarget(tempDir()),
      store,
    });
    await expect(refused).rejects.toBeInstanceOf(BackupNotPossibleError);
  });
});
