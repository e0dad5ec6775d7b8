// The catalog rebuilt from a target's listing (pure), and retention decided from the listing with an empty cache
// (a local directory target: a fresh state store must remove exactly what the store that wrote the sets would).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { notACatalogEntry, rebuildCatalog, refreshCatalog } from "../../../src/backup/catalog.ts";
import type { TargetBackup } from "../../../src/backup/list.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { type BackupManifest, describeFiles, MANIFEST_FORMAT } from "../../../src/backup/manifest.ts";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { applyTargetRetention } from "../../../src/backup/retention.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import { createBackup, listBackups, updateBackup } from "../../../src/store/backups.ts";
import { cleanup, NOW, snapshotRoot, tempDir, tempStore } from "../../harness/backup-fixtures.ts";

afterEach(cleanup);

const DAY = 86_400_000;
const files = describeFiles({ "cas.db": new Uint8Array([1, 2, 3]), "cas.key-store": new Uint8Array([4]) });

function manifestOf(id: string, extra: Partial<BackupManifest> = {}): BackupManifest {
  return {
    format: MANIFEST_FORMAT,
    id,
    cas: { namespace: "prod", name: "cas", version: "6.0.6" },
    snapshot: { marker: "snapshot-1", timestamp: null },
    created: "2026-11-23T12:00:00.000Z",
    started: "2026-11-23T11:59:00.000Z",
    scone: { version: "0.1.0" },
    files,
    ...extra,
  };
}

const listed = (id: string, manifest: BackupManifest | null, where = { namespace: "prod", name: "cas" }) =>
  ({ ...where, id, location: `s3://b/p/${where.namespace}/${where.name}/${id}`, manifest }) as TargetBackup;

describe("rebuildCatalog (pure)", () => {
  test("each set with a manifest becomes a completed row holding the manifest's fields, newest first", () => {
    const { entries, skipped } = rebuildCatalog(
      [
        listed("bk-a", manifestOf("bk-a")),
        listed(
          "bk-b",
          manifestOf("bk-b", { created: "2026-11-24T12:00:00.000Z", started: "2026-11-24T11:00:00.000Z" }),
        ),
      ],
      NOW,
    );
    expect(skipped).toEqual([]);
    expect(entries.map((e) => e.id)).toEqual(["bk-b", "bk-a"]);
    expect(entries[1]).toEqual({
      id: "bk-a",
      namespace: "prod",
      name: "cas",
      phase: "completed",
      method: "snapshot-copy",
      target: "s3://b/p/prod/cas/bk-a",
      startedAt: Date.parse("2026-11-23T11:59:00.000Z"),
      stoppedAt: Date.parse("2026-11-23T12:00:00.000Z"),
      sizeBytes: 4,
      files,
      snapshotMarker: "snapshot-1",
      error: null,
    });
  });

  test("a set written by the previous format (no started) is listed, started at its creation time", () => {
    const { started: _, ...previous } = manifestOf("bk-old");
    const [entry] = rebuildCatalog([listed("bk-old", previous)], NOW).entries;
    expect(entry?.startedAt).toBe(Date.parse(previous.created));
  });

  test("incomplete sets and manifests that describe another set are no rows, each with the reason", () => {
    const copied = manifestOf("bk-x", { cas: { namespace: "other", name: "cas", version: null } });
    const sets = [
      listed("bk-none", null),
      listed("bk-x", copied),
      listed("bk-y", manifestOf("bk-z")),
      listed("BK-Bad", manifestOf("BK-Bad")),
    ];
    const { entries, skipped } = rebuildCatalog(sets, NOW);
    expect(entries).toEqual([]);
    expect(skipped.map((s) => s.reason)).toEqual([
      "no readable backup.json (incomplete or interrupted backup)",
      "backup.json describes other/cas/bk-x, not the set at this path",
      "backup.json describes prod/cas/bk-z, not the set at this path",
      "its path is not <namespace>/<cas>/<id> with valid names",
    ]);
    expect(notACatalogEntry(listed("bk-a", manifestOf("bk-a")))).toBeUndefined();
  });
});

/** Backups of prod/cas (and one of prod/other) written with one store at the given days before NOW. */
async function writeSets(root: string, daysAgo: number[]) {
  const snap = snapshotRoot();
  const writer = tempStore();
  const target = new LocalDirectoryTarget(root);
  const ids: string[] = [];
  for (const d of daysAgo) {
    const at = NOW - d * DAY;
    const cas = { namespace: "prod", name: "cas", version: "6.0.6" };
    const r = await runBackup({
      cas,
      source: new DirectorySnapshotSource(snap.root),
      target,
      store: writer,
      now: () => at,
    });
    ids.push(r.id);
  }
  const other = await runBackup({
    cas: { namespace: "prod", name: "other", version: null },
    source: new DirectorySnapshotSource(snap.root),
    target,
    store: writer,
    now: () => NOW - 30 * DAY,
  });
  return { ids, other: other.id, writer, target };
}

describe("catalog from a directory target", () => {
  test("a fresh store refreshed from the target holds the same rows as the store that wrote the sets", async () => {
    const root = tempDir("target");
    const { writer, target } = await writeSets(root, [3, 2, 1]);
    const fresh = tempStore();
    expect(listBackups(fresh.db, { limit: 100 })).toEqual([]);
    const refreshed = await refreshCatalog(fresh, target);
    expect(refreshed.added).toHaveLength(4);
    // Every field the same, times included: the manifest records start and completion.
    expect(listBackups(fresh.db, { limit: 100 })).toEqual(listBackups(writer.db, { limit: 100 }));
    // A second refresh adds nothing.
    expect((await refreshCatalog(fresh, target)).added).toEqual([]);
  });

  test("a set removed from the target leaves the catalog on refresh; other rows are kept", async () => {
    const root = tempDir("target");
    const { ids, other, target } = await writeSets(root, [2, 1]);
    const fresh = tempStore();
    await refreshCatalog(fresh, target);
    const failed = createBackup(fresh.db, { namespace: "prod", name: "cas", target: "/elsewhere", phase: "running" });
    updateBackup(fresh.db, failed.id, { phase: "failed", error: "boom" });
    const elsewhere = createBackup(fresh.db, {
      namespace: "prod",
      name: "cas",
      target: "/elsewhere/prod/cas/bk-e",
      id: "bk-e",
      phase: "running",
    });
    updateBackup(fresh.db, elsewhere.id, { phase: "completed" });
    await target.delete(`prod/cas/${ids[0]}/backup.json`);
    const refreshed = await refreshCatalog(fresh, target, { namespace: "prod", name: "cas" });
    expect(refreshed.removed).toEqual([ids[0] as string]);
    expect(refreshed.skipped.map((s) => s.reason)).toEqual([
      "no readable backup.json (incomplete or interrupted backup)",
    ]);
    const left = listBackups(fresh.db, { limit: 100 })
      .map((r) => r.id)
      .sort();
    expect(left).toEqual([ids[1] as string, failed.id, "bk-e", other].sort());
  });

  test("a set written by the previous format (no started) is listed by a fresh store and restores by its id", async () => {
    const root = tempDir("target");
    const snap = snapshotRoot();
    const target = new LocalDirectoryTarget(root);
    const cas = { namespace: "prod", name: "cas", version: "6.0.6" };
    const written = await runBackup({
      cas,
      source: new DirectorySnapshotSource(snap.root),
      target,
      store: tempStore(),
    });
    const path = join(root, "prod", "cas", written.id, "backup.json");
    const { started: _, ...previous } = JSON.parse(readFileSync(path, "utf8")) as BackupManifest;
    writeFileSync(path, JSON.stringify(previous));
    const fresh = tempStore();
    expect((await refreshCatalog(fresh, target)).added).toEqual([written.id]);
    const restored = await resolveRestoreSource(written.id, { store: fresh, tempDir: tempDir("restore") });
    try {
      expect(new Uint8Array(readFileSync(join(restored.dir, "cas.db")))).toEqual(snap.db);
      expect(new Uint8Array(readFileSync(join(restored.dir, "cas.key-store")))).toEqual(snap.keyStore);
    } finally {
      await restored.cleanup();
    }
  });

  test("retention with an empty cache removes exactly the expired sets of that CAS, nothing else", async () => {
    const root = tempDir("target");
    const { ids, other, target } = await writeSets(root, [20, 15, 5, 1]);
    // Under the CAS's prefix but no set: a stray file, an incomplete set, a set whose manifest was copied there.
    writeFileSync(join(root, "prod", "cas", "notes.txt"), "keep me");
    mkdirSync(join(root, "prod", "cas", "bk-incomplete"));
    writeFileSync(join(root, "prod", "cas", "bk-incomplete", "cas.db"), "partial");
    mkdirSync(join(root, "prod", "cas", "bk-copied"));
    writeFileSync(
      join(root, "prod", "cas", "bk-copied", "backup.json"),
      JSON.stringify(
        manifestOf("bk-copied", {
          cas: { namespace: "prod", name: "other", version: null },
          created: "2020-01-01T00:00:00.000Z",
        }),
      ),
    );
    const fresh = tempStore();
    const result = await applyTargetRetention({
      target,
      cas: { namespace: "prod", name: "cas" },
      policy: { keepDays: 10 },
      now: NOW,
      store: fresh,
    });
    expect(result.failed).toEqual([]);
    expect(result.deleted.sort()).toEqual([ids[0], ids[1]].sort() as string[]);
    const left = readdirSync(join(root, "prod", "cas")).sort();
    expect(left).toEqual(["bk-copied", "bk-incomplete", ids[2], ids[3], "notes.txt"].sort() as string[]);
    expect(existsSync(join(root, "prod", "other", other, "backup.json"))).toBe(true);
    // The cache now holds what the target holds for this CAS.
    expect(
      listBackups(fresh.db, { limit: 100 })
        .map((r) => r.id)
        .sort(),
    ).toEqual([ids[2], ids[3]].sort() as string[]);
  });
});
